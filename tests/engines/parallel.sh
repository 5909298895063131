#!/usr/bin/env bash
# GNU parallel runs the command file `harness sweep --emit parallel` writes: 4 tiny seeds, 2 at a
# time, then harness table must report 4 seeds. Prints the wall time.
source "$(dirname "$0")/common.sh" "$1" "$2" parallel
"$harness" sweep configs/tiny.ini --seeds 4 --emit parallel --out sweep.parallel
t0=$(date +%s.%N)
parallel --will-cite --jobs 2 --halt now,fail=1 < sweep.parallel > parallel.log 2>&1
t1=$(date +%s.%N)
check_four_seeds
echo "engines: GNU parallel ran 4 runs in $(elapsed "$t0" "$t1") s wall"

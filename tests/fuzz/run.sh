#!/usr/bin/env bash
# The fuzz smoke test's steps, run by ctest (label fuzz; see CMakeLists.txt):
#   run.sh build SOURCE_DIR FUZZ_BUILD_DIR CLANG   configure and build tests/fuzz with clang
#   run.sh smoke FUZZ_BUILD_DIR TARGET SECONDS SEEDS
#       fuzz TARGET for SECONDS from the committed SEEDS; new inputs go to FUZZ_BUILD_DIR/corpus/TARGET,
#       a crashing input to FUZZ_BUILD_DIR/crash-TARGET-*; exits non-zero on a crash, leak or timeout.
set -euo pipefail
case "${1:-}" in
  build)
    cmake -S "$2/tests/fuzz" -B "$3" -DCMAKE_C_COMPILER="$4" >/dev/null
    cmake --build "$3" -j"$(nproc)"
    ;;
  smoke)
    mkdir -p "$2/corpus/$3"
    export HX_FUZZ_RESEAL=0
    exec "$2/fuzz_$3" -max_total_time="$4" -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$2/crash-$3-" "$2/corpus/$3" "$5"
    ;;
  *) echo "usage: run.sh build SOURCE_DIR FUZZ_BUILD_DIR CLANG | smoke FUZZ_BUILD_DIR TARGET SECONDS SEEDS" >&2; exit 2 ;;
esac

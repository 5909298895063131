#!/usr/bin/env bash
# A one-node Slurm cluster on localhost (scripts/slurm_node.sh: munged, slurmctld, slurmd as this
# user, 2 CPUs, proctrack/linuxproc, task/none), the job array `harness sweep --emit slurm` writes for 4 tiny
# seeds submitted to it and waited for, then harness table must report 4 seeds. Every daemon is
# stopped by its pid on exit. Prints the wall times.
source "$(dirname "$0")/common.sh" "$1" "$2" slurm-wlm munge
t_start=$(date +%s.%N)
source "$src/scripts/slurm_node.sh"
slurm_node_up "$work" 2 || exit 1
t_up=$(date +%s.%N)
echo "engines: Slurm up in $(elapsed "$t_start" "$t_up") s"
"$harness" sweep configs/tiny.ini --seeds 4 --jobs 2 --emit slurm --out sweep.sbatch
t0=$(date +%s.%N)
timeout 150 sbatch --wait sweep.sbatch > sbatch.log 2>&1 || { echo "engines: the job array failed"; cat sbatch.log; exit 1; }
t1=$(date +%s.%N)
check_four_seeds
echo "engines: Slurm job array ran 4 runs in $(elapsed "$t0" "$t1") s wall (2-CPU node)"

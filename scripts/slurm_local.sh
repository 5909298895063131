#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, for running `harness sweep --emit slurm` arrays
# without a cluster (or trying them before submitting to one):
#   scripts/slurm_local.sh up DIR [CPUS]   start munged, slurmctld, slurmd (files in DIR; CPUS
#                                          defaults to nproc), print the SLURM_CONF to export
#   scripts/slurm_local.sh down DIR        stop them, by the pids kept in DIR/daemons.pid
# Then: export SLURM_CONF=DIR/slurm.conf; sbatch --wait sweep.sbatch
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
cmd=${1:-} dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 up DIR [CPUS] | down DIR" >&2; exit 2; }
case "$cmd" in
up)
  for p in slurm-wlm munge; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
      { echo "$0: $p is not installed: run scripts/install_deps.sh --engines" >&2; exit 1; }
  done
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  [ -s "$dir/daemons.pid" ] && { echo "$0: $dir/daemons.pid exists: is a node running? ($0 down $dir)" >&2; exit 1; }
  pids=()
  source "$src/scripts/slurm_node.sh"
  if ! slurm_node_up "$dir" "${3:-$(nproc)}"; then
    kill "${pids[@]}" 2>/dev/null || true
    exit 1
  fi
  printf '%s\n' "${pids[@]}" > "$dir/daemons.pid"
  echo "export SLURM_CONF=$dir/slurm.conf"
  ;;
down)
  [ -s "$dir/daemons.pid" ] || { echo "$0: no $dir/daemons.pid: nothing to stop" >&2; exit 1; }
  mapfile -t pids < "$dir/daemons.pid"
  for (( i=${#pids[@]}-1; i>=0; i-- )); do kill "${pids[$i]}" 2>/dev/null || true; done
  for p in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
  done
  rm -f "$dir/daemons.pid"
  echo "stopped the Slurm node of $dir"
  ;;
*) echo "usage: $0 up DIR [CPUS] | down DIR" >&2; exit 2 ;;
esac

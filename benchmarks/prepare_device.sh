#!/usr/bin/env bash
# Prepare .device for the GPU machine, which has Python with NumPy, CuPy, PyTorch, numba and
# Pillow, and no internet: digitnet's pure-Python dependencies go to .device/site (device_checks.sh
# and gpu_ciresan.sh put it on PYTHONPATH), the MNIST files to .device/mnist. .git/info/exclude
# ignores .device; name it in the device tool's `carry`.
# Usage: benchmarks/prepare_device.sh MNIST_DIR
set -euo pipefail
data=$(realpath "${1:?usage: benchmarks/prepare_device.sh MNIST_DIR}")
cd "$(dirname "$0")/.."
python -m pip install --quiet --target .device/site --no-deps array-api-compat array-api-strict tqdm platformdirs pooch
mkdir -p .device/mnist
cp "$data"/* .device/mnist/
du -sh .device

#!/usr/bin/env bash
# Prepare .device for the GPU machine, which has Python 3.12 with NumPy, CuPy, PyTorch, numba,
# Pillow and httpx, and no internet:
#   .device/site     digitnet's pure-Python dependencies (device_checks.sh, gpu_ciresan.sh and
#                    device_serve.sh put it on PYTHONPATH)
#   .device/mnist    the MNIST files
#   .device/wheels   digitnet serve's packages, built for Python 3.12 and pinned to the versions
#                    installed here (device_serve.sh installs them there)
#   .device/bin, lib wrk, the load generator bench_serve.py prefers, and the LuaJIT it links
# .gitignore ignores .device; name it in the device tool's `carry`.
# Usage: benchmarks/prepare_device.sh MNIST_DIR
set -euo pipefail
data=$(realpath "${1:?usage: benchmarks/prepare_device.sh MNIST_DIR}")
cd "$(dirname "$0")/.."
python -m pip install --quiet --upgrade --target .device/site --no-deps \
    array-api-compat array-api-strict tqdm platformdirs pooch
mkdir -p .device/mnist
cp "$data"/* .device/mnist/

web=(fastapi starlette uvicorn httptools orjson pydantic pydantic-core typing-inspection annotated-types
     annotated-doc opentelemetry-api typing-extensions python-multipart swagger-ui-bundle)
pins=$(python -c 'import sys; from importlib.metadata import version
print(" ".join(f"{name}=={version(name)}" for name in sys.argv[1:]))' "${web[@]}")
rm -rf .device/wheels
python -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    --platform manylinux_2_5_x86_64 --platform manylinux1_x86_64 -d .device/wheels $pins
if command -v wrk > /dev/null; then
    mkdir -p .device/bin .device/lib
    cp "$(command -v wrk)" .device/bin/
    cp "$(ldconfig -p | awk '/libluajit-5\.1\.so\.2 /{print $NF; exit}')" .device/lib/
else
    echo "no wrk here (apt-get install wrk): bench_serve.py will fall back to its httpx client"
fi
du -sh .device

#!/usr/bin/env bash
# Issue 17's GPU point in one call: train the ciresan-6layer preset on the GPU with as many epochs
# as fit a training budget (`digitnet train --time-budget`: it times a few steps first, then fixes
# the epoch count, and the cosine schedule runs over it), and keep its curve.
# OUT_DIR gets the model, its .history.json (the curve) and the log.
# Usage: benchmarks/gpu_ciresan.sh MNIST_DIR [OUT_DIR] [BUDGET_S] [DEVICE]
# BUDGET_S defaults to 420 (the issue allows 8 minutes of training); DEVICE to gpu. Rehearse on a
# CPU with a small budget: benchmarks/gpu_ciresan.sh ../shared/data/mnist /tmp/rehearsal 60 cpu
# Like device_checks.sh, digitnet runs from src/ and array-api-compat may come from .device/site.
set -euo pipefail
data=${1:?usage: benchmarks/gpu_ciresan.sh MNIST_DIR [OUT_DIR] [BUDGET_S] [DEVICE]}
out=$(realpath -m "${2:-device-results}")
budget=${3:-420}
device=${4:-gpu}
data=$(realpath "$data")
mkdir -p "$out"
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD/src:$PWD/.device/site${PYTHONPATH:+:$PYTHONPATH}"
python -m digitnet train --preset ciresan-6layer --data "$data" --device "$device" --time-budget "$budget" \
    --out "$out/ciresan-6layer.npz" 2>&1 | tr '\r' '\n' | tee "$out/ciresan-6layer.log" \
    | grep -v "^$" | grep -v "^epoch" || true
grep "^epoch" "$out/ciresan-6layer.log" | tail -3

#!/usr/bin/env bash
# Every check that needs the GPU machine, in one run (about 8 minutes on an H200 with 16 cores):
#   1. pytest -m gpu                     the GPU tests (tests/test_gpu.py)
#   2. bench_train.py --device gpu       ref@128, wide@1024, Ciresan@1024 against PyTorch eager CUDA
#   3. bench_train.py on the CPU         ref and wide at 16, 4 and 2 cores (taskset), against PyTorch
# Usage: benchmarks/device_checks.sh MNIST_DIR [OUT_DIR]. Each result goes to OUT_DIR (default
# ./device-results) as JSON, and a summary line per run to stdout. Core counts above what the
# machine has are skipped, so the CPU half also runs on a 2-core machine.
# digitnet runs from src/ (no install needed); its pure-Python dependencies come from .device/site
# on the device machine (CuPy, PyTorch and numba there, no internet): run
# `benchmarks/prepare_device.sh ../shared/data/mnist` here first and carry .device.
set -uo pipefail
data=${1:?usage: benchmarks/device_checks.sh MNIST_DIR [OUT_DIR]}
out=${2:-device-results}
mkdir -p "$out"
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD/src:$PWD/.device/site${PYTHONPATH:+:$PYTHONPATH}"
cpus=$(nproc)

summary() {   # the ratio line of a bench_train JSON file
    python -c "import json, sys; r = json.load(open(sys.argv[1])); s = r['systems']
print(f\"{sys.argv[2]}: digitnet {s['digitnet']['epoch_s']:.3f} s/epoch, PyTorch {s['pytorch']['epoch_s']:.3f}, \"
      f\"ratio {r['ratio_to_pytorch']:.3f}x (by round {r['ratio_to_pytorch_by_round']:.3f}x), \"
      f\"test {100 * s['digitnet']['test_accuracy']:.2f}%\")" "$1" "$2"
}

if python -c "import cupy" 2>/dev/null; then
    echo "== pytest -m gpu"
    DIGITNET_TEST_MNIST="$data" timeout 300 python -m pytest -m gpu -q -p no:cacheprovider 2>&1 | tail -5
    for run in "ref 128 784,256,128,10" "wide 1024 784,1024,1024,10" "ciresan 1024 784,2500,2000,1500,1000,500,10"; do
        set -- $run
        timeout 240 python benchmarks/bench_train.py --data "$data" --device gpu --batch-size "$2" --sizes "$3" \
            --epochs 4 --json > "$out/gpu-$1.json" && summary "$out/gpu-$1.json" "gpu $1@$2"
    done
else
    echo "== no CuPy here: GPU checks skipped"
fi

for cores in 16 4 2; do
    if [ "$cores" -gt "$cpus" ]; then echo "== $cores cores: this machine has $cpus, skipped"; continue; fi
    last=$((cores - 1))
    for run in "ref 784,256,128,10 4" "wide 784,1024,1024,10 3"; do
        set -- $run
        timeout 300 taskset -c "0-$last" python benchmarks/bench_train.py --data "$data" --sizes "$2" \
            --epochs "$3" --skip sklearn --json > "$out/cpu$cores-$1.json" \
            && summary "$out/cpu$cores-$1.json" "cpu $cores cores $1@128"
    done
done

#!/usr/bin/env bash
# digitnet serve under load on the GPU machine (issue 15), in about 2 minutes: bench_serve.py
# (10,000 requests at concurrency 32, a drawing and 28x28 pixels) on 2, 4 and 16 of its cores
# (taskset) with as many server processes, then 16 with one BLAS thread each, and 16 with glibc's
# allocator told to keep its memory (see benchmarks/README.md). Core counts above the machine's
# are skipped.
# Usage: benchmarks/device_serve.sh MNIST_DIR [OUT_DIR]. JSON per run in OUT_DIR (default
# ./device-results), a line per body to stdout. Run benchmarks/prepare_device.sh here first and
# carry .device: it holds the web packages for the device's Python 3.12, and wrk.
set -uo pipefail
data=${1:?usage: benchmarks/device_serve.sh MNIST_DIR [OUT_DIR]}
out=$(realpath -m "${2:-device-results}")
mkdir -p "$out"
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD/src:$PWD/.device/site${PYTHONPATH:+:$PYTHONPATH}"
export PATH="$PWD/.device/bin:$PATH" LD_LIBRARY_PATH="$PWD/.device/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
if ! python -c "import fastapi, uvicorn, httptools, orjson, multipart, swagger_ui_bundle" 2>/dev/null; then
    python -m pip install --quiet --no-index --no-deps --no-compile --target /tmp/digitnet-web \
        .device/wheels/*.whl || { echo "could not install .device/wheels"; exit 1; }
    export PYTHONPATH="$PYTHONPATH:/tmp/digitnet-web"
fi
echo "== $(nproc) cores; wrk: $(command -v wrk || echo 'none, the httpx client')"
python -m digitnet train --data "$data" --out "$out/serve-model.npz" | tail -2

summary() {   # a line per body of a bench_serve JSON file
    python -c "import json, sys; r = json.load(open(sys.argv[1]))
for body in ('drawing', 'pixels'):
    b = r[body]
    print(f\"{sys.argv[2]} {body}: p50 {b['p50_ms']:.1f} ms, p99 {b['p99_ms']:.1f} ms, {b['errors']} errors, \"
          f\"{b['per_second']:.0f}/s, server {b['server_mb_before']:.0f} -> {b['server_mb_after']:.0f} MB, \"
          f\"answers afterwards: {r['answers_afterwards']}\")" "$1" "$2"
}

# each run: the cores it may use (taskset; client and server share them, as on a laptop), the server
# processes, a name, and environment settings
for run in "2 2" "4 4" "16 16" "16 16 blas1 OPENBLAS_NUM_THREADS=1" \
           "16 16 malloc MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=134217728"; do
    set -- $run
    cores=$1 workers=$2 name="cores$1-workers$2${3:+-$3}"
    if [ "$cores" -gt "$(nproc)" ]; then echo "== $name: this machine has $(nproc) cores, skipped"; continue; fi
    env "${@:4}" timeout 150 taskset -c "0-$((cores - 1))" python benchmarks/bench_serve.py \
        --model "$out/serve-model.npz" --workers "$workers" --json > "$out/serve-$name.json" \
        && summary "$out/serve-$name.json" "$name"
done

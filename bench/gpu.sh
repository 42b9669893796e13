#!/usr/bin/env bash
# The GPU measurements, prepared as one run for a lent device machine (the `device` tool):
# the CUDA tests, bench/cells.py on the GPU (B=64, I=7, H=128 at T=96, 512 and 2048) and
# bench/throughput.py on the GPU (the raw loop over GPU-resident batches against the trainer).
# The device image has torch, Lightning, pandas and pytest but no package registry, and
# ../shared does not travel, so prepare here first:
#
#   bash bench/gpu.sh fetch     # here: the wheels the image lacks and ETTh1.csv into .gpu/
#   bash bench/gpu.sh run       # there, with carry [".gpu"]; everything lands in $OUT
#
# .gpu/ is ignored through .git/info/exclude, so only `carry` takes it along. DEVICE=cpu runs
# the same steps on a CPU (to check the script itself; the GPU-only steps then say so).
set -euo pipefail
cd "$(dirname "$0")/.."
STASH=.gpu

fetch() {
    grep -qx "/$STASH/" .git/info/exclude 2>/dev/null || echo "/$STASH/" >> .git/info/exclude
    rm -rf "$STASH" && mkdir -p "$STASH/wheels" "$STASH/data"
    local py=${PYTHON:-.venv/bin/python} pkg version
    # Pure Python, the versions this project's environment runs: one wheel serves the image's
    # Python 3.12 (antlr4's runtime comes as source only, so pip builds its wheel here).
    for pkg in hydra-core omegaconf antlr4-python3-runtime; do
        version=$("$py" -m pip show "$pkg" | awk '/^Version:/ {print $2}')
        "$py" -m pip wheel -q --no-deps --wheel-dir "$STASH/wheels" "$pkg==$version"
    done
    local root=${RNNOPS_DATA_ROOT:-../shared/data}
    cp "$root/ETTh1.csv" "$STASH/data/" || {
        echo "bench/gpu.sh: no $root/ETTh1.csv; set RNNOPS_DATA_ROOT to the ETT folder" >&2
        exit 2
    }
    du -sh "$STASH"
}

run() {
    local out=${OUT:-$PWD/gpu-out} py=${PYTHON:-python3} device=${DEVICE:-cuda}
    mkdir -p "$out"
    "$py" -m pip install -q --no-index --no-deps --no-compile --target /tmp/rnnops-site \
        "$STASH"/wheels/*.whl
    export PYTHONPATH=/tmp/rnnops-site:$PWD/src PYTHONUNBUFFERED=1
    { nvidia-smi || true; "$py" -c "import torch; print('torch', torch.__version__, 'cuda',
torch.cuda.is_available() and torch.cuda.get_device_name())"; } > "$out/device.txt" 2>&1
    # Each step keeps going when one fails, so one bad step costs its own figures only.
    "$py" -m pytest -q -rs -p no:cacheprovider tests/data/test_windows.py \
        tests/training/test_runtime.py tests/test_config.py tests/models/test_cells.py \
        > "$out/tests.txt" 2>&1 || echo "tests failed: see tests.txt" >> "$out/device.txt"
    local cells=(--lengths 96 512 2048 --rounds 5)
    [ "$device" = cuda ] && cells+=(--devices cuda) || cells=(--devices cpu --lengths 96 --rounds 1)
    "$py" bench/cells.py "${cells[@]}" > "$out/cells.txt" 2>&1 \
        || echo "cells failed: see cells.txt" >> "$out/device.txt"
    "$py" bench/throughput.py --device "$device" --data-root "$STASH/data" --only raw rnnops \
        --rounds 2 $([ "$device" = cpu ] && echo --epochs 2) > "$out/throughput.txt" 2>&1 \
        || echo "throughput failed: see throughput.txt" >> "$out/device.txt"
    tail -n 4 "$out"/*.txt
}

case "${1:-}" in
    fetch) fetch ;;
    run) run ;;
    *) echo "usage: bash bench/gpu.sh fetch|run" >&2; exit 2 ;;
esac

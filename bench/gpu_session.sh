#!/usr/bin/env bash
# One prepared GPU run: the end-to-end check of compare() and the GPU benchmark, each with a time
# limit, results written to ${OUT:-bench/results}. Wheels for the versions requirements.txt pins
# (transformers, ...) can be carried in .whl/ when the machine has others.
#
#   bash bench/gpu_session.sh [path/to/gpu_e2e.py]
set -u
cd "$(dirname "$0")/.."
out="${OUT:-bench/results}"
mkdir -p "$out"
if ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site
fi
export PYTHONUNBUFFERED=1
stamp="$(date -u +%F)-$(python3 -c 'import torch; print(torch.cuda.get_device_name(0).replace(" ", "-").lower())')"
if [ -n "${1:-}" ]; then
  timeout 240 python3 "$1" . 2>&1 | tee "$out/$stamp-gpu-e2e.log"
fi
timeout 420 python3 bench/run.py --gpu --out "$out/$stamp.json" 2>&1 | tee "$out/$stamp.log"

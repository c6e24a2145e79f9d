#!/usr/bin/env bash
# GPU check (issue 13): on a machine with an NVIDIA GPU, installs the `gpu` extra into .venv with
# onnxruntime-gpu in place of onnxruntime, prints the GPU and the execution providers a session really
# runs on, how long the TensorRT engine takes to build and to load again from the engine cache, runs the
# capacity bench (scripts/bench_capacity.py) on the GPU and prints cameras per GPU. Without an NVIDIA GPU it
# says so and exits 0.
# Usage: scripts/gpu_check.sh [bench_capacity arguments, replacing the GPU defaults below]
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L >/dev/null 2>&1; then
  echo "gpu_check: no NVIDIA GPU on this machine (nvidia-smi is missing or lists none): nothing to measure."
  exit 0
fi
nvidia-smi --query-gpu=index,name,memory.total,driver_version --format=csv,noheader

source scripts/lib/setup.sh
# The ultralytics extra exports the rectangular (--dynamic) model the capacity bench serves.
install_python_env ".[gpu,ultralytics]"
# onnxruntime and onnxruntime-gpu install the same `onnxruntime` module: the base dependency is removed
# and the GPU build written again over what the removal took (pip has no way for an extra to replace one).
.venv/bin/python -m pip uninstall -q -y onnxruntime
.venv/bin/python -m pip install -q --disable-pip-version-check --force-reinstall --no-deps \
  "$(.venv/bin/python -m pip show onnxruntime-gpu | sed -n 's/^Version: /onnxruntime-gpu==/p')"

export AIBRAIN_ASSETS="${AIBRAIN_ASSETS:-$(cd .. && pwd)/shared}"
.venv/bin/python - <<'PY'
"""Which providers a session runs on, and the TensorRT engine cache at work: build, then load."""
import time
from pathlib import Path

import onnxruntime as ort

from aibrain.assets import asset
from detector.backends.backend_options import BackendOptions
from detector.backends.onnx_backend import OnnxBackend
from streams.decoder_choice import nvdec_missing

print(f"onnxruntime {ort.__version__}, providers in this build: {ort.get_available_providers()}")
print(f"NVDEC (decode_device: cuda): {nvdec_missing() or 'available'}")
options = BackendOptions(trt_cache_dir=Path("var/trt-engines"))
for attempt in ("first session (builds the TensorRT engine unless cached)", "second session (engine cache)"):
    started = time.perf_counter()
    backend = OnnxBackend(asset("models/yolov8n_coco_dq.onnx"), options)
    print(f"{attempt}: {time.perf_counter() - started:.1f} s, running on {backend.providers}")
PY

# The capacity bench on this host: N RTSP cameras through `aibrain run` (inference on the GPU, decoding on
# this host's CPUs), searched upwards from 32; Ultralytics' side is left out (it decodes every frame on the
# CPU and would take most of the run). Arguments given to this script replace these defaults.
args=("$@")
[ ${#args[@]} -eq 0 ] && args=(--sides ours,null --start 32 --max-cameras 600 --window-s 60)
out=$(mktemp)
.venv/bin/python scripts/bench_capacity.py "${args[@]}" | tee "$out"
cameras=$(sed -n 's/^  AI Brain  *\([0-9][0-9]*\).*/\1/p' "$out")
if [ -n "$cameras" ]; then
  echo "cameras per GPU at 1 frame/s each (>= 95 % of frames detected, decoding on this host's CPUs): $cameras"
fi
rm -f "$out"

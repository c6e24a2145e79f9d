"""scripts/bench_substream.py, run as a developer runs it, on a few seconds of footage: both paths give the
detector the same 640x360 picture, count every keyframe, and print each stage's CPU and the comparison.
The figures themselves are for the script to print on a quiet machine, not for a test to assert."""

from __future__ import annotations

import re
import subprocess
import sys

from aibrain.assets import PROJECT_ROOT
from tests.conftest import shared_asset


def test_bench_substream_runs_both_paths_and_prints_the_stages() -> None:
    model = shared_asset("models/yolov8n_coco_dq.onnx")
    shared_asset("footage/videos/dyh_unbox_test.mp4")
    run = subprocess.run([sys.executable, str(PROJECT_ROOT / "scripts" / "bench_substream.py"), "--model", str(model),
                          "--rounds", "1", "--minutes", "0.2"], capture_output=True, text=True, timeout=300,
                         cwd=PROJECT_ROOT)
    out = run.stdout
    assert run.returncode == 0, out + run.stderr
    frames = re.findall(r"^round 0 (1920x1080|704x576 sub)\s+(\d+) frames; decode [\d.]+, conversion [\d.]+, "
                        r"preprocess [\d.]+, postprocess [\d.]+; around inference [\d.]+ ms", out, re.M)
    assert [name for name, _ in frames] == ["1920x1080", "704x576 sub"], out
    assert frames[0][1] == frames[1][1] and int(frames[0][1]) >= 10, "the same keyframes on both paths"
    assert re.search(r"^around inference, best round: main stream [\d.]+ ms, sub-stream [\d.]+ ms", out, re.M), out

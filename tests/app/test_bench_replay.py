"""scripts/bench_replay.py, run as a developer runs it, on a few seconds of footage: it must compare
like with like (the same frames through each detector: AI Brain with the 640x640 and the rectangular model,
Ultralytics with the .pt and the ONNX) and print the factors the issue asks for.
The speed itself is for the script to print on a quiet machine, not for a test to assert."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from aibrain.assets import PROJECT_ROOT

pytestmark = pytest.mark.e2e  # four whole replays, one of them with PyTorch


def test_bench_replay_sends_the_same_frames_through_each_and_prints_the_factors() -> None:
    run = subprocess.run([sys.executable, str(PROJECT_ROOT / "scripts" / "bench_replay.py"),
                          "--minutes", "0.35", "--rounds", "1"],
                         capture_output=True, text=True, timeout=600, cwd=PROJECT_ROOT)
    out = run.stdout
    assert run.returncode == 0, out + run.stderr
    frames = {name: int(count) for name, count in
              re.findall(r"^(aibrain replay \(onnx(?:, rectangular)?\)|ultralytics track \((?:pt|onnx)\))"
                         r"\s+[\d.]+ s wall,\s+(\d+) frames", out, re.M)}
    assert len(frames) == 4, out
    # One frame a second of the clip looped twice (20.1 s) each; a keyframe at the very end may add one.
    assert all(20 <= count <= 21 for count in frames.values()), frames
    assert re.search(r"^aibrain real-time factor: [\d.]+x", out, re.M), out
    assert re.search(r"^aibrain rectangular real-time factor: [\d.]+x", out, re.M), out
    assert re.search(r"^aibrain rectangular / 640x640: [\d.]+x faster", out, re.M), out
    against_ultralytics = re.findall(r"^aibrain( rectangular)? / ultralytics track \((?:pt|onnx)\): [\d.]+x faster",
                                     out, re.M)
    assert sorted(against_ultralytics) == ["", "", " rectangular", " rectangular"], out

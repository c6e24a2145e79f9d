"""scripts/soak.py, run as a user runs it: a short soak of two looped file cameras."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from aibrain.assets import PROJECT_ROOT

pytestmark = pytest.mark.e2e  # the whole `aibrain run`, for a minute

SOAK = PROJECT_ROOT / "scripts" / "soak.py"


def soak(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SOAK), *args], capture_output=True, text=True, timeout=600,
                          cwd=PROJECT_ROOT)


def test_soak_reports_growth_frames_and_incidents(pialin_street: Path, yolo_onnx: Path) -> None:
    run = soak("--cameras", "2", "--minutes", "1", "--sample-every", "3", "--warmup-minutes", "0.25",
               "--clip", str(pialin_street), "--model", str(yolo_onnx))
    out = run.stdout
    assert run.returncode == 0, out + run.stderr
    samples = re.search(r"^samples: (\d+) over", out, re.M)
    assert samples and int(samples[1]) >= 10, out
    for figure in ("RSS growth", "fd growth", "thread growth"):
        assert re.search(rf"^  {figure} +[+-]\d+\.\d\d ", out, re.M), f"{figure} missing:\n{out}"
    frames = re.search(r"^frames detected (\d+) \(soak-01 (\d+), soak-02 (\d+)\), dropped \d+", out, re.M)
    assert frames and int(frames[2]) > 0 and int(frames[3]) > 0, out
    incidents = re.search(r"^incidents: (\d+) \(", out, re.M)
    assert incidents and int(incidents[1]) > 0, out  # parked cars in the clip, a 3 s dwell over the whole frame
    assert "aibrain run: exit code 0 after SIGTERM" in out


def test_soak_fails_when_the_run_dies(pialin_street: Path, tmp_path: Path) -> None:
    not_a_model = tmp_path / "broken.onnx"
    not_a_model.write_bytes(b"not an onnx model")
    run = soak("--cameras", "1", "--minutes", "1", "--sample-every", "1", "--warmup-minutes", "0",
               "--clip", str(pialin_street), "--model", str(not_a_model))
    assert run.returncode == 1, run.stdout + run.stderr
    assert "aibrain run DIED with exit code 1" in run.stdout, run.stdout

"""scripts/bench_capacity.py --quick, run as a developer runs it: one step of each side (ours, the null detector,
Ultralytics) over RTSP, and every figure the issue asks of the full run printed. The figures themselves are for the
full run on a quiet machine (README), not for a test to assert."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from aibrain.assets import PROJECT_ROOT
from scripts.lib.capacity_math import STAGES
from tests.helpers.rtsp import require_rtsp_server

pytestmark = pytest.mark.e2e  # three runs over RTSP, one of them with PyTorch: about 1.5 min


def test_quick_run_prints_every_figure() -> None:
    require_rtsp_server()
    run = subprocess.run([sys.executable, str(PROJECT_ROOT / "scripts" / "bench_capacity.py"), "--quick"],
                         capture_output=True, text=True, timeout=600, cwd=PROJECT_ROOT)
    out = run.stdout
    assert run.returncode == 0, out + run.stderr
    steps = re.findall(r"^  (ours|null|ultralytics) +(\d+) cameras: +([\d.]+) frames/s of +([\d.]+) offered", out, re.M)
    assert [(side, int(cameras)) for side, cameras, _, _ in steps] == [("ours", 2), ("null", 2), ("ultralytics", 1)]
    # Ours and the null detector detected frames in their windows; Ultralytics had its first result of the stream
    # before its window (its 1 camera may fall behind on a machine busy with other work: it decodes every frame).
    assert all(float(fps) > 0 for side, _, fps, _ in steps if side != "ultralytics"), out
    sustained = dict(re.findall(r"^  (AI Brain|AI Brain, null detector|Ultralytics track \(pt\)) +(\d+)$", out, re.M))
    assert set(sustained) == {"AI Brain", "AI Brain, null detector", "Ultralytics track (pt)"}, out
    table = re.search(r"^  stage +ours@2 +null@2\n((?:  (?!around).+\n)+)", out, re.M)
    assert table, out
    rows = {line.split()[0]: line.split()[1:] for line in table[1].splitlines()}
    assert set(rows) >= {"decode", "conversion", "inference", "tracking+rules", "storage", "unattributed", "total"}
    assert len(rows) == len(STAGES) + 2 and float(rows["decode"][0]) > 0 and float(rows["inference"][1]) == 0
    assert re.search(r"^  around inference, conversion \+ preprocess \+ postprocess: [\d.]+ ms", out, re.M), out
    assert re.search(r"^null-detector ceiling: [\d.]+ frames/s on [\d.]+ cores", out, re.M), out
    assert "quick: a fixed few cameras" in out

"""scripts/gpu_check.sh where no NVIDIA GPU is: it says so and exits 0, installing nothing."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "gpu_check.sh"


@pytest.mark.skipif(shutil.which("nvidia-smi") is not None, reason="a GPU machine: the script would install the extra")
def test_without_a_gpu_it_says_so_and_exits_0() -> None:
    run = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout == ("gpu_check: no NVIDIA GPU on this machine (nvidia-smi is missing or lists none): "
                          "nothing to measure.\n")

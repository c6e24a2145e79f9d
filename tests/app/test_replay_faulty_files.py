"""Files that are not what they seem, replayed and watched as a user would: an audio-only recording
is named with its camera, never a traceback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from tests.e2e.broker import wait_until
from tests.e2e.replay_site import aibrain_replay, write_site
from tests.helpers.media import make_audio_only_clip

EXIT_FILE_FAILED = 1


def cut_in_half(clip: Path, out: Path) -> Path:
    """The first half of the file's bytes, as `head -c` leaves a copy that stopped half-way."""
    data = clip.read_bytes()
    out.write_bytes(data[: len(data) // 2])
    return out


def test_an_audio_only_file_is_named_with_its_camera(tmp_path: Path, yolo_onnx: Path) -> None:
    site = write_site(tmp_path, str(make_audio_only_clip(tmp_path / "voice.m4a")), yolo_onnx)
    run = aibrain_replay(site, tmp_path / "voice.m4a")
    assert run.returncode == EXIT_FILE_FAILED, run.stderr
    assert f"error: cannot read {tmp_path / 'voice.m4a'} (camera cam-07): it holds no video stream" in run.stderr, \
        run.stderr
    assert "Traceback" not in run.stderr and "IndexError" not in run.stderr, run.stderr


def test_an_audio_only_file_camera_is_offline_with_the_reason(tmp_path: Path, yolo_onnx: Path) -> None:
    make_audio_only_clip(tmp_path / "voice.m4a")
    site = write_site(tmp_path, "voice.m4a", yolo_onnx)
    run = subprocess.Popen([sys.executable, "-m", "aibrain", "run", "--config", str(site)], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, env=os.environ | {"PYTHONUNBUFFERED": "1"})
    lines: list[str] = []
    reading = threading.Thread(target=lambda: lines.extend(run.stdout or ()), daemon=True)
    reading.start()
    try:
        wait_until(lambda: any("camera cam-07: offline" in line for line in lines) or run.poll() is not None, 120,
                   "the camera reported offline")
    finally:
        run.send_signal(signal.SIGTERM)
        run.wait(timeout=60)
        reading.join(10)
    output = "".join(lines)
    assert f"camera cam-07: offline (cannot open {tmp_path / 'voice.m4a'}: it holds no video stream" in output, \
        output[-3000:]
    assert "Traceback" not in output and "IndexError" not in output, output[-3000:]


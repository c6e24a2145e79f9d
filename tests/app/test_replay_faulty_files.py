"""Files that are not what they seem, replayed and watched as a user would: an audio-only recording,
a file cut short (a copy that stopped half-way). Each is named with its camera, never a traceback;
a cut file's incidents are kept, and the exit status says it was not read to its end."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.replay_site import aibrain_replay, write_site
from tests.helpers.live_run import LiveRun
from tests.helpers.media import make_audio_only_clip, make_test_pattern_clip

EXIT_FILE_FAILED, EXIT_FILE_CUT_SHORT = 1, 3


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
    with LiveRun(site) as run:
        run.wait_for("camera cam-07: offline", 120)
    output = run.output
    assert f"camera cam-07: offline (cannot open {tmp_path / 'voice.m4a'}: it holds no video stream" in output, \
        output[-3000:]
    assert "Traceback" not in output and "IndexError" not in output, output[-3000:]


@pytest.fixture(scope="module")
def pattern_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """10 s of a moving test pattern, the index in front (+faststart, as recorders export)."""
    return make_test_pattern_clip(tmp_path_factory.mktemp("clips") / "full.mp4", seconds=10)


def test_a_file_cut_short_is_replayed_with_a_warning_and_exit_status_3(tmp_path: Path, yolo_onnx: Path,
                                                                       pattern_clip: Path) -> None:
    site = write_site(tmp_path, str(pattern_clip), yolo_onnx)
    cut = cut_in_half(pattern_clip, tmp_path / "cut.mp4")
    run = aibrain_replay(site, cut, "--report", tmp_path / "report")
    assert run.returncode == EXIT_FILE_CUT_SHORT, run.stderr
    warning = next((line for line in run.stderr.splitlines() if line.startswith(f"warning: {cut} (camera cam-07)")),
                   None)
    assert warning is not None and "cut short or damaged" in warning, run.stderr
    assert "of 10.0 s" in warning, warning
    assert "cut short or damaged" in (tmp_path / "report" / "report.html").read_text(encoding="utf-8")


def test_a_whole_file_replays_without_a_warning(tmp_path: Path, yolo_onnx: Path, pattern_clip: Path) -> None:
    run = aibrain_replay(write_site(tmp_path, str(pattern_clip), yolo_onnx), pattern_clip)
    assert run.returncode == 0 and "warning" not in run.stderr.lower(), run.stderr


def test_a_file_named_like_rich_markup_keeps_its_name_on_the_progress_bar(tmp_path: Path, yolo_onnx: Path,
                                                                          pattern_clip: Path) -> None:
    named = tmp_path / "[red]gate [link=x]2026.mp4"
    named.write_bytes(pattern_clip.read_bytes())
    run = aibrain_replay(write_site(tmp_path, str(pattern_clip), yolo_onnx), named, progress=True)
    assert run.returncode == 0, run.stderr
    bars = [line for line in run.stderr.splitlines() if "━" in line]
    assert any(line.startswith("[red]gate [link=x]2026.mp4 ") for line in bars), bars

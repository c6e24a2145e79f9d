"""`cameras[].detect_url`: a sub-stream of the same kind as `url`, redacted as `url` is, each problem named
by its file, camera and field."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from configs.load import load_site
from configs.problems import ConfigError
from tests.configs.test_load_site import good_site, write_site

SECRET = "hunter2"
MAIN = f"rtsp://admin:{SECRET}@10.0.0.7/Streaming/Channels/101"
SUB = f"rtsp://admin:{SECRET}@10.0.0.7/Streaming/Channels/102"


def site_with(tmp_path: Path, url: str, detect_url: str) -> Path:
    site = good_site()
    site["cameras"][0].update(url=url, detect_url=detect_url)
    return write_site(tmp_path, site)


def test_a_sub_stream_loads_and_stays_secret(tmp_path: Path) -> None:
    camera = load_site(site_with(tmp_path, MAIN, SUB)).camera("cam-01")
    assert camera.detect_url is not None and camera.detect_url.get_secret_value() == SUB
    assert SECRET not in repr(camera) and SECRET not in str(camera.model_dump())


def test_a_camera_without_one_detects_on_its_url(tmp_path: Path) -> None:
    assert load_site(write_site(tmp_path, good_site())).camera("cam-01").detect_url is None


def test_files_for_both_load(tmp_path: Path) -> None:
    (tmp_path / "sub.mp4").write_bytes(b"\0")
    assert load_site(site_with(tmp_path, "clip.mp4", "sub.mp4")).camera("cam-01").detect_url is not None


@pytest.mark.parametrize(("url", "detect_url", "message"), [
    (MAIN, "sub.mp4", "same kind as url"),
    ("clip.mp4", SUB, "same kind as url"),
    (MAIN, f"http://admin:{SECRET}@10.0.0.7/sub", "over RTSP"),
])
def test_a_sub_stream_of_another_kind_is_refused_with_its_field_named(
        tmp_path: Path, url: str, detect_url: str, message: str) -> None:
    (tmp_path / "sub.mp4").write_bytes(b"\0")
    path = site_with(tmp_path, url, detect_url)
    with pytest.raises(ConfigError) as caught:
        load_site(path)
    [problem] = caught.value.problems
    assert problem.file == path and problem.field == "cameras[0] (cam-01).detect_url", problem
    assert message in problem.message, problem
    assert SECRET not in str(caught.value)


def test_an_unreadable_sub_stream_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_site(site_with(tmp_path, "clip.mp4", "missing-sub.mp4"))
    [problem] = caught.value.problems
    assert problem.field == "cameras[0] (cam-01).detect_url" and "missing-sub.mp4 is not readable" in problem.message


def test_check_config_names_the_sub_stream_without_its_password(tmp_path: Path) -> None:
    run = subprocess.run([sys.executable, "-m", "aibrain", "check-config", str(site_with(tmp_path, MAIN, SUB))],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "detects on the sub-stream rtsp://***@10.0.0.7/Streaming/Channels/102" in run.stdout
    assert SECRET not in run.stdout + run.stderr

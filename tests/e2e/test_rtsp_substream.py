"""End to end: a camera detected on its sub-stream, evidence from its main stream. Two real RTSP servers serve the
street clip as a Hikvision camera does: 1920x1080 at /Streaming/Channels/101, squeezed into D1 (704x576) at
/Streaming/Channels/102. `aibrain run` decodes the sub-stream only, the detector sees it at 16:9, the incident's
box and snapshot are in 1080p, the snapshot from the main stream; when the main stream is gone, the incident
still comes, its evidence from the sub-stream and said so. Credentials of either URL never reach the log."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import pytest
import yaml
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from aibrain.live.live_files import live_dir, picture_file
from detector.evidence import detections_path
from routing.incidents.database import make_engine, session_factory
from routing.incidents.tables import Incident
from tests.e2e.broker import wait_until
from tests.e2e.site import write_grids
from tests.helpers.media import transcode_h264
from tests.helpers.rtsp import RtspServer

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

PASSWORD = "s3cret-sub-pw"
MAIN_SIZE = (1920, 1080)
PLANTER = [[0.20, 0.05], [0.40, 0.05], [0.40, 0.35], [0.20, 0.35]]  # before the shop fronts (test_coco_proxies)
OUT_OF_STORE = {"kind": "out_of_store", "dwell_s": 4, "settle_s": 1, "lost_tolerance_s": 3, "min_confidence": 0.25}


@pytest.fixture(scope="module")
def street_streams(tmp_path_factory: pytest.TempPathFactory, unbox_1080p: Path) -> tuple[Path, Path]:
    """The clip with a keyframe a second, at 1080p and squeezed into D1 as a camera's sub-stream."""
    folder = tmp_path_factory.mktemp("substream-clips")
    main = transcode_h264(unbox_1080p, folder / "main.mp4", gop=30)
    sub = folder / "sub.mp4"
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i", str(main), "-an",
                    "-vf", "scale=704:576", "-g", "30", "-keyint_min", "30", "-c:v", "libx264", "-preset", "veryfast",
                    "-pix_fmt", "yuv420p", "-sc_threshold", "0", "-bf", "0", str(sub)], check=True)
    return main, sub


@pytest.fixture
def cameras(street_streams: tuple[Path, Path]) -> Iterator[tuple[RtspServer, RtspServer]]:
    main_clip, sub_clip = street_streams
    with (RtspServer(main_clip, mount="/Streaming/Channels/101", user="admin", password=PASSWORD) as main,
          RtspServer(sub_clip, mount="/Streaming/Channels/102", user="admin", password=PASSWORD) as sub):
        yield main, sub


def write_site(folder: Path, model: Path, url: str, detect_url: str) -> Path:
    write_grids(folder / "grids.geojson")
    config = {
        "database": f"sqlite:///{folder / 'aibrain.db'}", "model": str(model), "grids": "grids.geojson",
        "evidence_dir": "evidence", "timezone": "Asia/Shanghai",
        "workers": [{"id": "w-001", "name": "张伟", "grids": ["G-01"], "shifts": ["Mon-Sun 00:00-24:00"]}],
        "cameras": [{"id": "cam-07", "name": "店门口", "url": url, "detect_url": detect_url, "detect_fps": 2,
                     "decode": "keyframes", "open_timeout_s": 5, "read_timeout_s": 5, "reconnect_max_s": 2,
                     "location": [121.472, 31.232],
                     "zones": [{"name": "planter", "grid": "G-01", "tags": ["street"], "polygon": PLANTER}]}],
        "rules": [{"zone_tags": ["street"], **OUT_OF_STORE}],
    }
    path = folder / "site.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def incidents(folder: Path) -> list[Incident]:
    try:
        with session_factory(make_engine(f"sqlite:///{folder / 'aibrain.db'}"))() as session:
            return list(session.scalars(select(Incident)).all())
    except OperationalError:  # the run has not made its tables yet
        return []


@pytest.fixture
def run_site() -> Iterator[list[subprocess.Popen[bytes]]]:
    runs: list[subprocess.Popen[bytes]] = []
    yield runs
    for run in runs:
        if run.poll() is None:
            run.kill()
            run.wait(30)


def start(site: Path, runs: list[subprocess.Popen[bytes]]) -> tuple[subprocess.Popen[bytes], Path]:
    log_path = site.parent / "aibrain.log"
    with log_path.open("w") as log_file:
        run = subprocess.Popen([sys.executable, "-m", "aibrain", "--log-level", "DEBUG", "run", "--config", str(site)],
                               stdout=log_file, stderr=subprocess.STDOUT, env=os.environ | {"PYTHONUNBUFFERED": "1"})
    runs.append(run)
    return run, log_path


def stop(run: subprocess.Popen[bytes], log_path: Path) -> str:
    run.send_signal(signal.SIGTERM)
    assert run.wait(timeout=60) == 0, log_path.read_text()[-3000:]
    log = log_path.read_text()
    assert PASSWORD not in log, "a camera password leaked into the log"
    return log


def sidecar(incident: Incident) -> dict[str, object]:
    assert incident.snapshot is not None
    return json.loads(detections_path(Path(incident.snapshot)).read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def assert_main_size_evidence(incident: Incident) -> None:
    assert incident.frame_size == list(MAIN_SIZE)
    x1, y1, x2, y2 = incident.bbox
    assert 0.15 * MAIN_SIZE[0] <= (x1 + x2) / 2 <= 0.45 * MAIN_SIZE[0] and y2 <= 0.5 * MAIN_SIZE[1], \
        f"the planter's box in 1080p pixels: {incident.bbox}"
    assert incident.snapshot is not None
    snapshot = cv2.imread(incident.snapshot)
    assert snapshot is not None and snapshot.shape == (MAIN_SIZE[1], MAIN_SIZE[0], 3)


def test_detected_on_the_sub_stream_with_evidence_from_the_main_stream(
        tmp_path: Path, cameras: tuple[RtspServer, RtspServer], yolo_onnx: Path,
        run_site: list[subprocess.Popen[bytes]]) -> None:
    main, sub = cameras
    run, log_path = start(write_site(tmp_path, yolo_onnx, main.url, sub.url), run_site)
    try:
        wait_until(lambda: bool(incidents(tmp_path)) or run.poll() is not None, 120, "the planter's incident")
        camera_picture = picture_file(live_dir(tmp_path / "evidence"), "cam-07")
        wait_until(camera_picture.is_file, 30, "the camera's picture")
    finally:
        log = stop(run, log_path)
    [incident] = incidents(tmp_path)
    assert incident.kind == "out_of_store"
    assert_main_size_evidence(incident)
    side = sidecar(incident)
    assert side["picture"] == "main-stream" and side["frame_size"] == list(MAIN_SIZE)
    assert isinstance(side["ts"], float) and isinstance(side["picture_ts"], float)
    assert 0 <= side["picture_ts"] - side["ts"] < 10, "a keyframe grabbed after the confirming frame"
    picture = cv2.imread(str(camera_picture))  # the detector's picture, shrunk for the workbench
    assert picture is not None and abs(picture.shape[1] / picture.shape[0] - 16 / 9) < 0.02, \
        "the detector saw the sub-stream at the main stream's 16:9, not at D1's 704x576"
    assert "/Streaming/Channels/102" in log and "no picture from the main stream" not in log
    assert "main-stream evidence 1, sub-stream fallbacks 0" in log, "the status line at the end"


def test_without_the_main_stream_the_incident_comes_with_the_sub_streams_picture(
        tmp_path: Path, cameras: tuple[RtspServer, RtspServer], yolo_onnx: Path,
        run_site: list[subprocess.Popen[bytes]]) -> None:
    main, sub = cameras
    run, log_path = start(write_site(tmp_path, yolo_onnx, main.url, sub.url), run_site)
    wait_until(lambda: "camera cam-07: online" in log_path.read_text() or run.poll() is not None, 60,
               "the camera online")
    main.kill()  # the main stream goes away once probed, before the planter's dwell is up
    started = time.monotonic()
    wait_until(lambda: bool(incidents(tmp_path)) or run.poll() is not None, 120, "the planter's incident")
    log = stop(run, log_path)
    [incident] = incidents(tmp_path)
    assert_main_size_evidence(incident)
    side = sidecar(incident)
    assert side["picture"] == "sub-stream" and side["picture_ts"] == side["ts"]
    assert "no picture from the main stream" in log and time.monotonic() - started < 120
    assert "main-stream evidence 0, sub-stream fallbacks 1" in log

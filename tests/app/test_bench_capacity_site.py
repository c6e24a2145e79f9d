"""scripts/lib/capacity_run.py's pieces that need no cameras: the site it writes for N RTSP cameras (valid, keyframes
at one frame a second, metrics on), the null detector standing in for the ONNX model through a card, and the CPU
figures it reads from /proc."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from aibrain import assemble
from configs.load import load_site
from detector.backends.null_backend import NullBackend
from scripts.lib.capacity_run import SiteModel, machine_busy_s, null_model, process_cpu_s, write_capacity_site
from streams.frame import DecodePolicy

URLS = ["rtsp://127.0.0.1:8554/cam01", "rtsp://127.0.0.1:8554/cam02", "rtsp://127.0.0.1:8554/cam03"]


def test_the_site_has_a_camera_per_url_at_one_keyframe_a_second(tmp_path: Path, yolo_onnx: Path) -> None:
    site = load_site(write_capacity_site(tmp_path / "site", URLS, SiteModel(yolo_onnx), 9123, 1.0))
    cameras = site.config.cameras
    assert [camera.id for camera in cameras] == ["cam01", "cam02", "cam03"]
    assert [site.camera_source(camera) for camera in cameras] == URLS
    assert all(camera.decode is DecodePolicy.KEYFRAMES and camera.detect_fps == 1.0 for camera in cameras)
    assert site.config.metrics_port == 9123 and site.config.model == str(yolo_onnx)


def test_the_null_detector_stands_in_for_the_model_through_its_card(tmp_path: Path, yolo_onnx: Path) -> None:
    model = null_model(tmp_path / "null", yolo_onnx)
    site = load_site(write_capacity_site(tmp_path / "site", URLS, model, 9123, 1.0))
    loaded = assemble.open_model(site)
    assert isinstance(loaded.backend, NullBackend) and loaded.weights.suffix == ".null"
    assert len(loaded.backend.class_names) == 80 and loaded.backend.class_names[2] == "car"
    assert loaded.card.object_kinds["car"] == "motor_vehicle"
    (boxes,) = loaded.backend.detect([np.zeros((360, 640, 3), np.uint8)])
    assert [loaded.backend.class_names[int(c)] for c in boxes.class_id] == ["car", "bicycle"]


def test_cpu_seconds_of_a_process_and_of_the_machine_grow_with_work() -> None:
    mine, machine = process_cpu_s(os.getpid()), machine_busy_s()
    started = time.process_time()
    while time.process_time() - started < 0.1:
        pass
    assert process_cpu_s(os.getpid()) >= mine + 0.05 and machine_busy_s() >= machine + 0.05
    assert process_cpu_s(2**22 + 1) == 0.0  # above the kernel's pid limit: no such process

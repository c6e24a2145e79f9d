"""Replay: recorded street footage through a camera's zones and rules, by media time."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
import yaml

from tests.e2e.site import write_grids

pytestmark = pytest.mark.e2e

ORIGIN = "2026-05-01T09:00:00+08:00"
CAR_ZONE = [[0.45, 0.50], [1.0, 0.50], [1.0, 0.92], [0.45, 0.92]]  # the sidewalk where the car stands
SKY_ZONE = [[0.0, 0.0], [1.0, 0.0], [1.0, 0.12], [0.0, 0.12]]


def replay(tmp_path: Path, clip: Path, model: Path, polygon: list[list[float]]) -> list[dict]:
    write_grids(tmp_path / "grids.geojson")
    site = {
        "database": f"sqlite:///{tmp_path / 'unused.db'}", "model": str(model), "grids": "grids.geojson",
        "evidence_dir": "evidence",
        "workers": [{"id": "w-001", "name": "张伟", "grids": ["G-01"], "shifts": ["Mon-Sun 08:00-20:00"]}],
        "cameras": [{"id": "cam-07", "name": "广场路口", "url": str(clip), "detect_fps": 2, "decode": "sampled",
                     "zones": [{"name": "sidewalk", "grid": "G-01", "tags": ["no_parking_motor"],
                                "polygon": polygon}]}],
        "rules": [{"kind": "motor_parking", "zone_tags": ["no_parking_motor"], "dwell_s": 4}],
    }
    (tmp_path / "site.yaml").write_text(yaml.safe_dump(site, allow_unicode=True), encoding="utf-8")
    out = tmp_path / "incidents.jsonl"
    run = subprocess.run([sys.executable, "-m", "aibrain", "replay", str(clip), "--config", str(tmp_path / "site.yaml"),
                          "--camera", "cam-07", "--json", str(out), "--origin", ORIGIN, "--no-progress"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


def test_parked_car_on_the_sidewalk_gives_one_motor_parking_incident(
        tmp_path: Path, pialin_street: Path, yolo_onnx: Path) -> None:
    incidents = replay(tmp_path, pialin_street, yolo_onnx, CAR_ZONE)
    assert len(incidents) == 1, incidents
    incident = incidents[0]
    assert incident["kind"] == "motor_parking" and incident["kind_label_zh"] == "机动车乱停放"
    assert incident["object_kind"] == "motor_vehicle" and incident["class_name"] == "car"
    assert (incident["camera_id"], incident["zone"], incident["grid_id"], incident["worker_id"]) == \
        ("cam-07", "sidewalk", "G-01", "w-001")
    origin = datetime.fromisoformat(ORIGIN)
    confirmed = datetime.fromisoformat(incident["confirmed_at"])
    first_seen = datetime.fromisoformat(incident["first_seen"])
    assert (confirmed - first_seen).total_seconds() >= 4, "confirmed only after the dwell, by media time"
    assert 4 <= (confirmed - origin).total_seconds() <= 7.5, "times come from the clip, not the wall clock"
    assert incident["confidence"] > 0.5 and len(incident["bbox"]) == 4
    assert Path(incident["snapshot"]).is_file()


def test_zone_without_the_car_gives_nothing(tmp_path: Path, pialin_street: Path, yolo_onnx: Path) -> None:
    assert replay(tmp_path, pialin_street, yolo_onnx, SKY_ZONE) == []


def test_unreadable_file_is_an_error_not_a_hang(tmp_path: Path, yolo_onnx: Path) -> None:
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video at all" * 100)
    with pytest.raises(AssertionError, match="cannot read"):
        replay(tmp_path, broken, yolo_onnx, CAR_ZONE)

"""Identity across gaps on real footage (issue 12), through `aibrain replay` with one zone over the whole
frame: passing traffic and a queue at a light are not parked vehicles, and a parked car hidden for a while
by a passing car is still one incident.

Before issue 12 the two first clips gave 2 and 1 false incidents: a car (a motorcycle) stopping where
another had been seconds before inherited its dwell, and the time in between counted as standing."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import shared_asset
from tests.e2e.replay_site import ORIGIN, replay_incidents, write_site
from tests.eval.made_clips import OCCLUDED_SIZE, OCCLUDER_COVERS, PARKED_BOX, PARKED_STANDS, make_occluded_clip

pytestmark = pytest.mark.e2e

WHOLE_FRAME: list[list[float]] = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]


def whole_frame_replay(folder: Path, clip: Path, model: Path, rule: dict[str, Any]) -> list[dict[str, Any]]:
    """Incidents of `clip` replayed through the replay tests' site (cam-07, 2 frames a second) with its zone
    over the whole frame and `rule` (zone tags added) as its only rule."""
    folder.mkdir(parents=True, exist_ok=True)
    site_file = write_site(folder, str(clip), model, WHOLE_FRAME)
    site = yaml.safe_load(site_file.read_text(encoding="utf-8"))
    (zone,) = site["cameras"][0]["zones"]
    site["rules"] = [{"zone_tags": zone["tags"], **rule}]
    site_file.write_text(yaml.safe_dump(site, allow_unicode=True), encoding="utf-8")
    return replay_incidents(site_file, clip, "--origin", ORIGIN)


def media_s(incident: dict[str, Any], key: str) -> float:
    return (datetime.fromisoformat(incident[key]) - datetime.fromisoformat(ORIGIN)).total_seconds()


def test_moving_traffic_is_not_parked(tmp_path: Path, yolo_onnx: Path) -> None:
    """The issue's acceptance case: a busy avenue, nothing parked, motor_parking after 4 s (was: 2 incidents)."""
    clip = shared_asset("footage/videos/sohaib_raasta_traffic.mp4")
    assert whole_frame_replay(tmp_path, clip, yolo_onnx, {"kind": "motor_parking", "dwell_s": 4}) == []


def test_a_queue_at_a_light_is_not_parked(tmp_path: Path, yolo_onnx: Path) -> None:
    """Motorcycles stop about 9 s at the stop line, wave after wave: with a 12 s dwell none is parked (was: 1,
    the next wave's motorcycle inheriting the first one's 10 s)."""
    clip = shared_asset("footage/videos/bagus_indonesia_cctv.mp4")
    assert whole_frame_replay(tmp_path, clip, yolo_onnx, {"kind": "non_motor_parking", "dwell_s": 12}) == []


def test_the_parked_car_is_still_one_incident(tmp_path: Path, pialin_street: Path, yolo_onnx: Path) -> None:
    (incident,) = whole_frame_replay(tmp_path, pialin_street, yolo_onnx, {"kind": "motor_parking", "dwell_s": 4})
    assert incident["class_name"] == "car" and media_s(incident, "first_seen") == 0
    assert incident["media_time_s"] == pytest.approx(4.0, abs=0.01)


DWELL_S = 14.0  # confirms while the passing car still hides part of the parked one (OCCLUDER_COVERS ends ~16 s)


def test_a_parked_car_hidden_by_passing_traffic_is_one_incident(tmp_path: Path, pialin_street: Path,
                                                               yolo_onnx: Path) -> None:
    """The passing car hides the parked one in part, then whole, then in part for about 8 s: the visible part
    is still the parked car and the hidden frames are excused, so the dwell runs on from the start (was: the
    dwell restarted, the car never confirmed, and a far car seen in 2 frames of 31 did)."""
    clip = make_occluded_clip(tmp_path / "occluded.mp4",
                              pialin_street, shared_asset("footage/videos/sohaib_raasta_traffic.mp4"))
    assert OCCLUDER_COVERS[0] < DWELL_S < OCCLUDER_COVERS[1]
    (incident,) = whole_frame_replay(tmp_path / "site", clip, yolo_onnx, {"kind": "motor_parking", "dwell_s": DWELL_S})
    assert incident["class_name"] == "car"
    assert media_s(incident, "first_seen") == PARKED_STANDS[0]
    assert DWELL_S <= incident["media_time_s"] <= DWELL_S + 1.0, "confirmed after the dwell, hidden time counted"
    width, height = OCCLUDED_SIZE
    x1, y1, x2, y2 = incident["bbox"]
    bottom_centre = ((x1 + x2) / 2 / width, y2 / height)
    left, top, right, bottom = PARKED_BOX
    assert left <= bottom_centre[0] <= right and top <= bottom_centre[1] <= bottom + 0.05, "the parked car's box"


def test_pedestrians_and_cyclists_are_not_parked_bikes(tmp_path: Path, unbox_1080p: Path, yolo_onnx: Path) -> None:
    assert whole_frame_replay(tmp_path, unbox_1080p, yolo_onnx, {"kind": "non_motor_parking", "dwell_s": 4}) == []

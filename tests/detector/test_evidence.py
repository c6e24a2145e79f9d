from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import cv2
import numpy as np

from detector.evidence import write_evidence
from detector.violation import Violation
from streams.frame import Frame

TS = 1_700_000_000.25  # 2023-11-14 22:13:20.250 UTC, 2023-11-15 06:13:20 in Beijing


def _violation(camera_id: str) -> Violation:
    when = datetime.fromtimestamp(TS, UTC)
    return Violation(camera_id, "pavement", "non_motor_parking", "non_motor_vehicle", "bicycle",
                     7, (200.0, 150.0, 400.0, 300.0), 0.87, when, when, (640, 360))


def test_snapshot_is_written_where_expected_and_shows_the_box(tmp_path: Path) -> None:
    image = np.full((360, 640, 3), 60, np.uint8)
    frame = Frame("cam/01", 12, TS, 3.0, image, False)
    zone = np.array([[0, 180], [640, 180], [640, 360], [0, 360]], np.int32)
    path = write_evidence(frame, _violation("cam/01"), zone, tmp_path, tz=timezone(timedelta(hours=8)))

    assert path.parent == tmp_path / "cam_01" / "2023-11-15"
    assert path.name == "061320.250_non_motor_parking_t7_200-150.jpg"
    snapshot = cv2.imread(str(path))
    assert snapshot is not None and snapshot.shape == image.shape
    diff = np.abs(snapshot.astype(int) - image.astype(int)).sum(axis=2)
    assert diff[300, 300] > 100 and diff[225, 200] > 100  # bottom and left edges of the box outline
    assert diff[250, 300] < 30  # inside the box the picture is untouched
    assert np.array_equal(frame.image, image)  # drawn on a copy


def test_snapshot_without_zone_and_box_at_the_edge(tmp_path: Path) -> None:
    frame = Frame("cam-02", 0, TS, 0.0, np.zeros((100, 120, 3), np.uint8), True)
    edge = replace(_violation("cam-02"), bbox=(0.0, 0.0, 120.0, 100.0))
    path = write_evidence(frame, edge, None, tmp_path)
    assert path.parent == tmp_path / "cam-02" / "2023-11-14"
    snapshot = cv2.imread(str(path))
    assert snapshot is not None and snapshot.shape == (100, 120, 3)

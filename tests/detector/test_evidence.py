from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import cv2
import numpy as np
import pytest

from aibrain.assemble import LoadedModel, camera_detector_state, kind_labels
from configs.load import load_site
from detector import caption_font
from detector.evidence import render_evidence, write_evidence
from detector.model_card import load_card
from detector.violation import Violation
from streams.frame import Frame
from tests.detector.test_inference_loop import FakeBackend
from tests.e2e.replay_site import write_site
from tests.helpers.browser import artifact

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


@pytest.fixture
def fresh_font_lookup() -> Iterator[None]:
    """The font lookup forgets what it found before and after the test, which changes where it looks."""
    caption_font.cjk_font_path.cache_clear()
    caption_font.caption_font.cache_clear()
    yield
    caption_font.cjk_font_path.cache_clear()
    caption_font.caption_font.cache_clear()


def _street_frame() -> Frame:
    """1920x1080, the car's box low in the picture, so its caption band lies on the plain grey."""
    return Frame("cam-07", 3, TS, 1.5, np.full((1080, 1920, 3), 90, np.uint8), False)


def _car() -> Violation:
    return replace(_violation("cam-07"), kind="motor_parking", object_kind="motor_vehicle", class_name="car",
                   bbox=(600.0, 700.0, 1100.0, 1000.0), confidence=0.91)


def _caption_band(image: np.ndarray) -> np.ndarray:
    """The rows just above the car's box, where its caption is drawn."""
    return image[600:700, 600:1920]


def test_the_caption_names_the_kind_in_chinese_before_its_code() -> None:
    assert caption_font.cjk_font_path() is not None, "fonts-droid-fallback (scripts/lib/setup.sh) is installed"
    frame = _street_frame()
    labelled = render_evidence(frame, _car(), None, label="机动车乱停放")
    code_only = render_evidence(frame, _car(), None)
    cv2.imwrite(str(artifact("evidence-caption.png")), labelled)

    def band_columns(snapshot: np.ndarray) -> int:
        return int((_caption_band(snapshot) == (0, 0, 255)).all(axis=2).any(axis=0).sum())

    assert (_caption_band(labelled) > 200).all(axis=2).any()  # white text on the red band
    assert band_columns(labelled) > band_columns(code_only) + 100  # six ideographs go before the code
    # The font has the glyphs: two ideographs draw differently, where missing ones would draw the same box.
    font = caption_font.caption_font(40)
    assert font is not None
    assert not np.array_equal(np.asarray(font.getmask("机")), np.asarray(font.getmask("动")))
    assert np.array_equal(labelled[:600], code_only[:600])  # the camera and time stamp is the same


def test_without_a_cjk_font_the_caption_shows_the_code_and_one_warning(
        fresh_font_lookup: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(caption_font, "CJK_FONT_PATHS", (Path("/nonexistent/cjk.ttf"),))
    caplog.set_level(logging.WARNING, logger="detector.caption_font")
    frame = _street_frame()
    labelled = [render_evidence(frame, _car(), None, label="机动车乱停放") for _ in range(2)]
    code_only = render_evidence(frame, _car(), None)
    assert all(np.array_equal(snapshot, code_only) for snapshot in labelled)
    assert (_caption_band(code_only) > 200).all(axis=2).any()  # the code is written all the same
    assert [r.levelno for r in caplog.records] == [logging.WARNING]
    assert "no CJK font" in caplog.records[0].getMessage()


def test_each_camera_detector_state_gets_the_site_kind_labels(tmp_path: Path) -> None:
    weights = tmp_path / "unused.onnx"
    weights.touch()  # the site asks for a readable file; the fake backend never opens it
    site = load_site(write_site(tmp_path, "rtsp://cam-07.invalid/stream", weights))
    model = LoadedModel(FakeBackend(), load_card("yolov8n"), weights)
    state = camera_detector_state(site, site.config.cameras[0], model)
    assert state.kind_labels == kind_labels(site) and state.kind_labels["motor_parking"] == "机动车乱停放"

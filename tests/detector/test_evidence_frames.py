"""Beside each snapshot, the frame clean and every detection of it (issue 12, point 4): what `aibrain dataset
export` turns into training data. A still camera on the real shared-bike photo, the real model and tracker."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import cv2
import numpy as np
import pytest

from detector.backends.onnx_backend import OnnxBackend
from detector.detections import Detections
from detector.evidence import DETECTIONS_VERSION, FRAME_JPEG_QUALITY, detections_path, frame_path
from detector.inference_loop import detect_stream, with_track_ids
from detector.tracker import CameraTracker
from detector.violation import Violation
from tests.detector.test_inference_loop import T0, camera_state, looped

SECONDS = 32  # a still camera at 1 fps; the rule's dwell is 30 s


def parked_bikes(backend: OnnxBackend, image: np.ndarray, evidence: Path, frames: bool = True) -> list[Violation]:
    state = camera_state("cam-01", backend.class_names)
    state.evidence_frames = frames
    return list(detect_stream(backend, looped("cam-01", image, SECONDS), state, evidence))


def sidecar(violation: Violation) -> dict[str, object]:
    assert violation.snapshot is not None
    loaded: dict[str, object] = json.loads(detections_path(violation.snapshot).read_text(encoding="utf-8"))
    return loaded


def test_the_clean_frame_and_all_its_detections_lie_beside_each_snapshot(
        onnx_backend: OnnxBackend, still_image: np.ndarray, tmp_path: Path) -> None:
    violations = parked_bikes(onnx_backend, still_image, tmp_path)
    assert len(violations) >= 2, "the yellow bike in front and the one behind it"
    seen = onnx_backend.detect([still_image])[0]  # what the backend returns for the frame: every class
    names = {int(class_id): name for class_id, name in onnx_backend.class_names.items()}
    assert {names[int(c)] for c in seen.class_id} >= {"bicycle", "person"}, "more than the violations' class"
    for violation in violations:
        assert violation.snapshot is not None and violation.frame == frame_path(violation.snapshot)
        assert violation.frame.name == violation.snapshot.name.removesuffix(".jpg") + ".frame.jpg"
        assert violation.frame.parent == violation.snapshot.parent

        clean = cv2.imread(str(violation.frame))
        assert clean is not None and clean.shape == still_image.shape
        error = np.abs(clean.astype(np.float64) - still_image)
        psnr = 10 * np.log10(255**2 / np.mean(error**2))
        assert error.mean() < 2.0 and psnr > 38, f"JPEG q{FRAME_JPEG_QUALITY} of the frame: {error.mean()}, {psnr}"
        drawn = cv2.imread(str(violation.snapshot))
        assert drawn is not None
        x1, y1, x2, y2 = (round(v) for v in violation.bbox)
        outline = (slice(y2 - 1, y2 + 1), slice(x1, x2))  # the bottom edge of the box, red in the snapshot only
        assert np.abs(drawn[outline].astype(int) - still_image[outline]).mean() > 40
        assert np.abs(clean[outline].astype(int) - still_image[outline]).mean() < 8

        facts = sidecar(violation)
        assert (facts["version"], facts["camera_id"]) == (DETECTIONS_VERSION, "cam-01")
        confirmed = violation.confirmed_at.timestamp()
        assert facts["ts"] == confirmed and T0 < confirmed < T0 + SECONDS, "the confirming frame's time"
        assert facts["frame_size"] == [still_image.shape[1], still_image.shape[0]]
        assert facts["class_names"] == {str(class_id): name for class_id, name in names.items()}
        found = facts["detections"]
        assert isinstance(found, list) and len(found) == len(seen)
        expected = sorted(zip(seen.xyxy.tolist(), seen.confidence.tolist(), seen.class_id.tolist(), strict=True))
        for mine, (box, confidence, class_id) in zip(sorted(found, key=lambda d: d["xyxy"]), expected, strict=True):
            assert mine["xyxy"] == pytest.approx(box, abs=0.01)
            assert (mine["class_id"], mine["class_name"]) == (class_id, names[class_id])
            assert mine["confidence"] == pytest.approx(confidence, abs=1e-4)
            assert isinstance(mine["track_id"], int), "a still frame: every object tracked by now"
        own = [d for d in found if d["xyxy"] == pytest.approx(list(violation.bbox), abs=0.01)]
        assert [d["track_id"] for d in own] == [violation.track_id]
        bicycle = next(class_id for class_id, name in names.items() if name == "bicycle")
        assert facts["violation"] == {"id": violation.id, "kind": "non_motor_parking",
                                      "bbox": pytest.approx(list(violation.bbox), abs=0.01), "class_id": bicycle,
                                      "object_count": 1}


def test_with_the_switch_off_only_the_snapshot_is_written(
        onnx_backend: OnnxBackend, still_image: np.ndarray, tmp_path: Path) -> None:
    violations = parked_bikes(onnx_backend, still_image, tmp_path, frames=False)
    assert violations and all(v.frame is None and v.snapshot is not None for v in violations)
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == sorted(
        v.snapshot.name for v in violations if v.snapshot is not None)


def test_a_frame_that_cannot_be_written_costs_only_itself(
        onnx_backend: OnnxBackend, still_image: np.ndarray, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The same still again (the same tracks, the same file names), where a folder already holds the name of
    each sidecar: the frames are taken away again, the snapshots and the violations stay, one ERROR."""
    first = parked_bikes(onnx_backend, still_image, tmp_path / "first")
    again = tmp_path / "again"
    for violation in first:
        assert violation.snapshot is not None
        detections_path(again / violation.snapshot.relative_to(tmp_path / "first")).mkdir(parents=True)
    with caplog.at_level(logging.INFO, logger="detector"):
        violations = parked_bikes(onnx_backend, still_image, again)
    assert [(v.kind, v.track_id, v.bbox) for v in violations] == [(v.kind, v.track_id, v.bbox) for v in first]
    assert all(v.frame is None and v.snapshot is not None and v.snapshot.is_file() for v in violations)
    assert not list(again.rglob("*.frame.jpg")), "no frame without its sidecar"
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "clean frames" in errors[0] and "cam-01" in errors[0], errors


def test_every_detection_keeps_its_track_id_where_the_tracker_gave_one(
        onnx_backend: OnnxBackend, still_image: np.ndarray) -> None:
    seen = onnx_backend.detect([still_image])[0]
    tracker = CameraTracker()
    tracker.update(seen, T0)
    tracked = tracker.update(seen, T0 + 1)
    assert len(set(tracked.tracker_id.tolist())) == len(seen) and (tracked.tracker_id >= 0).all()
    order = np.argsort(-tracked.confidence)  # not the backend's order
    ids = with_track_ids(seen, tracked.select(order[:-1]))  # the tracker kept all but one
    assert np.array_equal(ids.xyxy, seen.xyxy) and np.array_equal(ids.class_id, seen.class_id)
    dropped = tracked.tracker_id[order[-1]]
    assert sorted(ids.tracker_id.tolist()) == sorted([-1, *[i for i in tracked.tracker_id.tolist() if i != dropped]])
    for box, track in zip(ids.xyxy, ids.tracker_id, strict=True):
        if track >= 0:
            assert np.array_equal(tracked.xyxy[tracked.tracker_id == track][0], box)
    assert len(with_track_ids(seen, Detections.empty())) == len(seen)

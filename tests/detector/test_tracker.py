from __future__ import annotations

import numpy as np

from detector.backends.onnx_backend import OnnxBackend
from detector.detections import Detections
from detector.tracker import CameraTracker, TrackerSettings

T0 = 1_700_000_000.0


def test_stationary_objects_keep_their_ids_at_one_fps(onnx_backend: OnnxBackend,
                                                       still_image: np.ndarray) -> None:
    (detections,) = onnx_backend.detect([still_image])
    tracker = CameraTracker()
    ids_per_frame = []
    for i in range(20):
        tracked = tracker.update(detections, T0 + i)  # the same still, once a second
        confident = tracked.select(tracked.confidence >= 0.5)
        order = np.argsort(confident.xyxy[:, 0])
        ids_per_frame.append(confident.tracker_id[order].tolist())
    assert all(-1 not in ids for ids in ids_per_frame[1:])  # numbered from the second frame on
    assert all(ids == ids_per_frame[1] for ids in ids_per_frame[1:])
    assert len(set(ids_per_frame[1])) == len(ids_per_frame[1])


def _box(x: float, conf: float = 0.8) -> Detections:
    return Detections(np.array([[x, 100, x + 40, 180]], np.float32), np.array([conf], np.float32),
                      np.array([1]))


def test_lost_track_buffer_is_in_seconds() -> None:
    tracker = CameraTracker(TrackerSettings(lost_track_s=5.0))
    for i in range(3):
        first_id = int(tracker.update(_box(100), T0 + i).tracker_id[0])
    tracker.update(Detections.empty(), T0 + 3)
    assert int(tracker.update(_box(100), T0 + 6).tracker_id[0]) == first_id  # unseen 4 s < 5 s
    tracker.update(Detections.empty(), T0 + 7)
    tracker.update(_box(100), T0 + 14)  # unseen 8 s: the old track is gone
    assert int(tracker.update(_box(100), T0 + 15).tracker_id[0]) != first_id


def test_empty_and_weak_detections() -> None:
    tracker = CameraTracker()
    assert len(tracker.update(Detections.empty(), T0)) == 0
    weak = tracker.update(_box(100, conf=0.1), T0 + 1)
    assert weak.tracker_id.tolist() == [-1]

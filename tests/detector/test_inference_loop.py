from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import cv2
import numpy as np
import pytest

from detector.backends.onnx_backend import OnnxBackend
from detector.detections import Detections
from detector.engine import RuleEngine
from detector.inference_loop import CameraDetectorState, InferenceLoop, detect_stream
from detector.model_card import known_object_kinds, load_card, object_kind_lookup
from detector.rules import DwellParameters, DwellRule
from detector.tracker import CameraTracker
from detector.violation import Violation
from detector.zones import Zone
from streams.frame import Frame
from streams.mailbox import LatestFrameSlots

T0 = 1_700_000_000.0
CARD_CLASSES = dict(enumerate(load_card("yolov8n").object_kinds))  # a model with exactly the card's classes
BICYCLE = next(i for i, name in CARD_CLASSES.items() if name == "bicycle")
WHOLE_PICTURE = Zone("pavement", frozenset({"no_parking"}), ((0, 0), (1, 0), (1, 1), (0, 1)))


def camera_state(camera_id: str, class_names: dict[int, str], dwell_s: float = 30.0) -> CameraDetectorState:
    card = load_card("yolov8n")
    rule = DwellRule("non_motor_parking", frozenset({"no_parking"}),
                     DwellParameters(objects=("non_motor_vehicle",), dwell_s=dwell_s), max_frame_gap_s=10.0)
    engine = RuleEngine(camera_id, class_names, object_kind_lookup(card, class_names),
                        known_object_kinds(card), [WHOLE_PICTURE], [rule])
    return CameraDetectorState(CameraTracker(), engine)


def looped(camera_id: str, image: np.ndarray, seconds: int) -> list[Frame]:
    """A still camera at 1 fps."""
    return [Frame(camera_id, i, T0 + i, float(i), image, i == 0) for i in range(seconds)]


def test_detect_stream_on_the_real_still_confirms_each_parked_bike_once(
        onnx_backend: OnnxBackend, still_image: np.ndarray, tmp_path: Path) -> None:
    state = camera_state("cam-01", onnx_backend.class_names)
    violations = list(detect_stream(onnx_backend, looped("cam-01", still_image, 60), state, tmp_path))
    assert len(violations) >= 2  # the yellow bike in front and the one behind it, both confident
    assert all(v.class_name == "bicycle" and v.kind == "non_motor_parking" for v in violations)
    assert len({v.track_id for v in violations}) == len(violations)
    assert {(v.confirmed_at - v.first_seen).total_seconds() for v in violations} == {30.0}
    for v in violations:
        assert v.snapshot is not None
        snapshot = cv2.imread(str(v.snapshot))
        assert snapshot is not None and snapshot.shape == still_image.shape


class FakeBackend:
    """One fixed bicycle per image; fails on images marked with a white top-left pixel."""

    class_names = CARD_CLASSES
    input_size = (640, 640)
    max_batch = 2

    def __init__(self) -> None:
        self.batch_sizes: list[int] = []

    def detect(self, images: Sequence[np.ndarray]) -> list[Detections]:
        self.batch_sizes.append(len(images))
        if any(image[0, 0, 0] == 255 for image in images):
            raise RuntimeError("device lost")
        box = Detections(np.array([[10, 10, 50, 50]], np.float32), np.array([0.9], np.float32),
                         np.array([BICYCLE]))
        return [box for _ in images]


Handed = list[tuple[Violation, Frame]]


def run_loop(frames: list[Frame], cameras: dict[str, CameraDetectorState], backend: FakeBackend,
             on_violation: Callable[[Violation, Frame], None] | None = None) -> tuple[InferenceLoop, Handed]:
    """Feed `frames` through a running loop with back-pressure, close the slots, wait for the loop."""
    slots, stop, seen = LatestFrameSlots(), threading.Event(), []
    loop = InferenceLoop(backend, slots, cameras, on_violation or (lambda v, f: seen.append((v, f))), stop,
                         max_batch=4, max_wait_ms=1.0)
    thread = loop.start()
    for frame in frames:
        assert slots.put_wait(frame, stop, timeout_s=10.0)
    slots.close()
    thread.join(timeout=10.0)
    assert not thread.is_alive()
    return loop, seen


def test_loop_batches_cameras_and_hands_on_violations() -> None:
    image = np.zeros((100, 100, 3), np.uint8)
    cameras = {c: camera_state(c, FakeBackend.class_names) for c in ("a", "b", "c")}
    frames = [f for i in range(40) for f in (Frame(c, i, T0 + i, float(i), image, False) for c in cameras)]
    backend = FakeBackend()
    loop, seen = run_loop(frames, cameras, backend)
    assert sorted(v.camera_id for v, _ in seen) == ["a", "b", "c"]
    assert all(f.camera_id == v.camera_id and f.ts == v.confirmed_at.timestamp() for v, f in seen)
    assert {c: s.frames for c, s in loop.stats.cameras.items()} == {"a": 40, "b": 40, "c": 40}
    assert loop.stats.frames == 120 and loop.stats.batches == len(backend.batch_sizes)
    assert max(backend.batch_sizes) <= 4 and loop.stats.inference_s > 0


def test_one_cameras_failure_does_not_stop_the_others(caplog: pytest.LogCaptureFixture,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    def bug_in_a_rule(*args: object) -> list[Violation]:
        raise ZeroDivisionError("bug in a rule")

    image, poisoned = np.zeros((100, 100, 3), np.uint8), np.zeros((100, 100, 3), np.uint8)
    poisoned[0, 0] = 255
    good = camera_state("good", FakeBackend.class_names)
    broken = camera_state("broken", FakeBackend.class_names)
    monkeypatch.setattr(broken.engine, "evaluate", bug_in_a_rule)
    frames = [Frame("good", i, T0 + i, float(i), poisoned if i == 5 else image, False) for i in range(40)]
    frames += [Frame("broken", 0, T0, 0.0, image, False), Frame("stranger", 0, T0, 0.0, image, False)]
    with caplog.at_level(logging.WARNING, logger="detector.inference_loop"):
        loop, seen = run_loop(frames, {"good": good, "broken": broken}, FakeBackend())
    assert [v.camera_id for v, _ in seen] == ["good"]
    assert loop.stats.cameras["broken"].errors == 1 and loop.stats.backend_errors >= 1
    assert "stranger" not in loop.stats.cameras
    messages = caplog.text
    assert "camera broken" in messages and "camera stranger" in messages and "device lost" in messages


def test_a_failing_callback_is_logged_per_camera() -> None:
    def refuse(violation: Violation, frame: Frame) -> None:
        raise ConnectionError("database down")

    image = np.zeros((100, 100, 3), np.uint8)
    frames = [Frame("a", i, T0 + i, float(i), image, False) for i in range(40)]
    loop, _ = run_loop(frames, {"a": camera_state("a", FakeBackend.class_names)}, FakeBackend(), refuse)
    assert loop.stats.cameras["a"].violations == 1 and loop.stats.cameras["a"].errors == 1
    assert loop.stats.cameras["a"].frames == 40

"""The detector's smaller picture (issue 13): the backend sees `Frame.detect_image`, boxes come back in
full-size pixels, the full-size picture is converted only for a violation's evidence, and the look check on
the small picture tells the issue-12 cars apart (and the parked one the same) as on the full one."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import pytest

from detector.detections import Detections
from detector.inference_loop import InferenceLoop, to_frame_pixels
from detector.rules.look import Likeness, compare, look_of
from detector.violation import Violation
from streams.frame import Frame
from streams.mailbox import LatestFrameSlots
from tests.conftest import shared_asset
from tests.detector.rule_frames import T0, picture
from tests.detector.test_inference_loop import BICYCLE, CARD_CLASSES, camera_state
from tests.detector.test_standing_identity import (
    DEFAULT_LOOKS,
    SOHAIB_CAR_FRAMES,
    assert_sohaib_cars_told_apart,
    car,
    confirmations,
    flickering,
    footage_frames,
    fractions,
    parking,
    scene,
)

FULL_HD = (1920, 1080)
DETECT_BOX = (640, 640)  # the box a 640 x 640 model's detection picture is fitted into


def fitted(image: np.ndarray, box: tuple[int, int] = DETECT_BOX) -> np.ndarray:
    """`image` shrunk to fit in `box` (w, h), as the readers make the detection picture (AREA)."""
    height, width = image.shape[:2]
    scale = min(box[0] / width, box[1] / height)
    if scale >= 1:
        return image
    return cv2.resize(image, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)


def detections(xyxy: Sequence[Sequence[float]], tracks: Sequence[int] | None = None) -> Detections:
    n = len(xyxy)
    return Detections(np.array(xyxy, np.float32).reshape(n, 4), np.full(n, 0.9, np.float32),
                      np.full(n, BICYCLE), np.array(tracks if tracks is not None else [-1] * n))


def small_frame(seq: int, full: tuple[int, int] = FULL_HD, small: tuple[int, int] = (640, 360),
                picture: CountingPicture | None = None) -> Frame:
    return Frame("cam-01", seq, T0 + seq, float(seq), None, True, picture=picture or CountingPicture(*full),
                 detect_image=np.zeros((small[1], small[0], 3), np.uint8))


class CountingPicture:
    """A decoder's picture (streams.frame.FullPicture) that counts its conversions."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height, self.conversions = width, height, 0

    def to_bgr(self) -> np.ndarray:
        self.conversions += 1
        return np.full((self.height, self.width, 3), 80, np.uint8)


# Boxes back in full-size pixels.

def test_to_frame_pixels_scales_boxes_to_the_full_size_and_keeps_the_rest() -> None:
    found = detections([[10, 20, 30, 40], [0, 0, 640, 360]], tracks=[7, -1])
    full = to_frame_pixels(found, small_frame(0))
    assert full.xyxy.tolist() == [[30, 60, 90, 120], [0, 0, 1920, 1080]]
    assert full.tracker_id.tolist() == [7, -1] and full.class_id.tolist() == [BICYCLE] * 2
    assert full.confidence.tolist() == found.confidence.tolist()


def test_to_frame_pixels_scales_each_axis_on_its_own() -> None:
    # An anamorphic sub-stream: 704 x 576 stored, shown 16:9; its detection picture is 640 x 360.
    frame = small_frame(0, full=(704, 576))
    np.testing.assert_allclose(to_frame_pixels(detections([[64, 36, 640, 360]]), frame).xyxy, [[70.4, 57.6, 704, 576]],
                               rtol=1e-6)


def test_to_frame_pixels_leaves_a_full_size_detection_picture_and_no_detections_alone() -> None:
    same = Frame("cam-01", 0, T0, 0.0, np.zeros((360, 640, 3), np.uint8), True)
    found = detections([[1, 2, 3, 4]])
    assert to_frame_pixels(found, same) is found
    assert len(to_frame_pixels(Detections.empty(), small_frame(0))) == 0


# The loop: the small picture in, full-size violations and evidence out, no conversion without a violation.

class ShapeRecordingBackend:
    """One bicycle per picture at a fixed place in the picture's own pixels; records the shapes it was given."""

    class_names = CARD_CLASSES
    input_size = (640, 640)
    max_batch = 4

    def __init__(self) -> None:
        self.shapes: list[tuple[int, ...]] = []

    def detect(self, images: Sequence[np.ndarray]) -> list[Detections]:
        self.shapes += [image.shape for image in images]
        return [detections([[100, 100, 200, 160]]) for _ in images]


def test_the_loop_detects_on_the_small_picture_and_converts_the_full_one_only_for_evidence(tmp_path: Path) -> None:
    backend, handed = ShapeRecordingBackend(), list[tuple[Violation, Frame]]()
    loop = InferenceLoop(backend, LatestFrameSlots(), {"cam-01": camera_state("cam-01", CARD_CLASSES)},
                         lambda v, f: handed.append((v, f)), threading.Event(), evidence_dir=tmp_path)
    frames = [small_frame(seq) for seq in range(40)]
    for frame in frames:
        loop.process_batch([frame])
    assert set(backend.shapes) == {(360, 640, 3)}
    [(violation, frame)] = handed
    assert violation.bbox == (300, 300, 600, 480) and violation.frame_size == FULL_HD
    assert violation.snapshot is not None and violation.frame is not None
    for written in (violation.snapshot, violation.frame):
        image = cv2.imread(str(written))
        assert image is not None and image.shape == (1080, 1920, 3)
    assert [f.seq for f in frames if f.converted] == [frame.seq] == [30], "only the violation's frame converted"


# The look check on the small picture (issue-12 fixtures).

@pytest.mark.parametrize("box", [DETECT_BOX, (340, 340)], ids=["640 box", "a third of 1024"])
def test_real_cars_at_the_same_place_are_told_apart_on_the_small_picture(box: tuple[int, int]) -> None:
    assert_sohaib_cars_told_apart({n: fitted(image, box) for n, image in footage_frames(
        shared_asset("footage/videos/sohaib_raasta_traffic.mp4"), SOHAIB_CAR_FRAMES).items()})


@pytest.mark.parametrize("box", [(150, 150), (100, 100)], ids=["half", "a third"])
def test_the_real_parked_car_is_the_same_on_the_small_picture(box: tuple[int, int]) -> None:
    # The clip is 300 x 240, under any detection box: shrunk as a 1080p camera's picture is (to a third).
    frames = {n: fitted(image, box) for n, image in footage_frames(
        shared_asset("footage/videos/pialin_street.mp4"), {0, 75, 149}).items()}
    peugeot = fractions((158, 105, 298, 181), 300, 240)
    reference = look_of(frames[0], peugeot)
    assert [compare(reference, frames[n], peugeot, DEFAULT_LOOKS) for n in (75, 149)] == [Likeness.SAME] * 2


def test_the_identity_scenes_confirm_as_on_the_full_picture(monkeypatch: pytest.MonkeyPatch) -> None:
    """The synthetic identity scenes of issue 12 (1000 x 1000), their pictures fitted to the 640 box."""
    scenes = {
        "another car after a gap": scene(0, 5, [car(look=1)]) + scene(5, 8) + scene(8, 40, [car(look=2)]),
        "the same car after a gap": scene(0, 5, [car(look=1)]) + scene(5, 8) + scene(8, 40, [car(look=1)]),
        "look changed after confirmation": scene(0, 20, [car(look=1)]) + scene(20, 23) + scene(23, 60, [car(look=2)]),
        "another car inside the anchor": scene(0, 4, [car(look=1)]) + scene(4, 30, [car(look=4, x=470, w=60)]),
    }
    full = {name: confirmations(parking(), frames) for name, frames in scenes.items()}
    monkeypatch.setattr("tests.detector.test_standing_identity.picture",
                        lambda patches: fitted(picture(patches)))
    assert {name: confirmations(parking(), frames) for name, frames in scenes.items()} == full
    assert full["another car after a gap"] == [(8, 18)] and full["the same car after a gap"] == [(0, 10)]
    assert confirmations(parking(), flickering(None)) == [], "seen one frame in five: never"


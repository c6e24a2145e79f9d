"""Evidence of a sub-stream camera comes from its main stream, grabbed off the inference loop's threads: a main
picture in time makes the snapshot and clean frame, none makes them from the sub-stream's picture (the sidecar
says which), and the violation is handed on either way; other cameras never wait for a grab."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from detector.evidence import detections_path
from detector.inference_loop import InferenceLoop
from detector.main_evidence import MainEvidence
from detector.violation import Violation
from streams.frame import Frame
from streams.mailbox import LatestFrameSlots
from streams.main_picture import MainPicture, MainStream
from tests.detector.test_inference_loop import T0, FakeBackend, camera_state
from tests.helpers.media import make_test_pattern_clip

SIZE = (640, 360)  # the main stream's, which the frames carry
DWELL_S = 2.0
WAIT_S = 10.0


@pytest.fixture(scope="module")
def main_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_test_pattern_clip(tmp_path_factory.mktemp("main") / "main.mp4", 2, size=SIZE)


def sub_frames(camera_id: str, count: int = 4) -> list[Frame]:
    """A parked bike's camera at 1 fps; its picture (the sub-stream scaled up) is black, the main stream's not."""
    image = np.zeros((SIZE[1], SIZE[0], 3), np.uint8)
    return [Frame(camera_id, i, T0 + i, float(i), image, i == 0) for i in range(count)]


class BlockedMain(MainStream):
    """A main stream whose grab waits until released (a slow connection), then gives a white picture."""

    def __init__(self) -> None:
        super().__init__("rtsp://admin:hunter2@10.0.0.7/Streaming/Channels/101", 1.0, 1.0)
        self.release = threading.Event()

    def grab(self) -> MainPicture:
        assert self.release.wait(WAIT_S)
        return MainPicture(np.full((SIZE[1], SIZE[0], 3), 255, np.uint8), time.time())


Handed = list[tuple[Violation, Frame]]  # the violations a loop handed on, with their frames


def loop_with(evidence: MainEvidence, cameras: list[str], evidence_dir: Path, handed: Handed) -> InferenceLoop:
    states = {c: camera_state(c, FakeBackend.class_names, dwell_s=DWELL_S) for c in cameras}
    return InferenceLoop(FakeBackend(), LatestFrameSlots(), states, lambda v, f: handed.append((v, f)),
                         threading.Event(), evidence_dir=evidence_dir, main_evidence=evidence)


def sidecar(violation: Violation) -> dict[str, object]:
    assert violation.snapshot is not None and violation.frame is not None
    return json.loads(detections_path(violation.snapshot).read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def test_the_evidence_shows_a_keyframe_of_the_main_stream(main_clip: Path, tmp_path: Path) -> None:
    evidence, handed = MainEvidence(), Handed()
    evidence.use({"cam-01": MainStream(str(main_clip), 5.0, 5.0)})
    loop = loop_with(evidence, ["cam-01"], tmp_path, handed)
    for frame in sub_frames("cam-01"):
        loop.process_batch([frame])
    evidence.close()
    [(violation, frame)] = handed
    assert frame.ts == T0 + DWELL_S, "handed on with the detection frame"
    assert violation.snapshot is not None and violation.frame is not None
    for path in (violation.snapshot, violation.frame):
        picture = cv2.imread(str(path))
        assert picture is not None and picture.shape == (SIZE[1], SIZE[0], 3)
        assert picture.std() > 10, f"{path.name}: the main stream's test pattern, not the black sub-stream"
    side = sidecar(violation)
    assert side["picture"] == "main-stream" and side["ts"] == T0 + DWELL_S
    assert isinstance(side["picture_ts"], float) and side["picture_ts"] > T0 + DWELL_S
    assert side["frame_size"] == list(SIZE)
    assert evidence.stats.grabbed == 1 and evidence.stats.fallbacks == 0
    assert loop.stats.cameras["cam-01"].violations == 1 and loop.stats.evidence_failures == 0


def test_without_a_main_picture_in_time_the_sub_streams_picture_is_used_and_said(tmp_path: Path) -> None:
    evidence, handed = MainEvidence(), Handed()
    evidence.use({"cam-01": MainStream(str(tmp_path / "main-gone.mp4"), 1.0, 1.0)})
    loop = loop_with(evidence, ["cam-01"], tmp_path / "evidence", handed)
    for frame in sub_frames("cam-01"):
        loop.process_batch([frame])
    evidence.close()
    [(violation, _)] = handed
    assert violation.snapshot is not None
    snapshot = cv2.imread(str(violation.snapshot))
    assert snapshot is not None and snapshot.shape == (SIZE[1], SIZE[0], 3)
    side = sidecar(violation)
    assert side["picture"] == "sub-stream" and side["picture_ts"] == side["ts"] == T0 + DWELL_S
    assert evidence.stats.fallbacks == 1


def test_a_slow_grab_holds_up_neither_the_loop_nor_other_cameras(tmp_path: Path) -> None:
    main, evidence, handed = BlockedMain(), MainEvidence(), Handed()
    evidence.use({"sub": main})
    loop = loop_with(evidence, ["sub", "plain"], tmp_path, handed)
    started = time.monotonic()
    for sub, plain in zip(sub_frames("sub"), sub_frames("plain"), strict=True):
        loop.process_batch([sub, plain])
    assert time.monotonic() - started < 2.0, "the post work does not wait for the grab"
    assert [v.camera_id for v, _ in handed] == ["plain"], "the camera without a sub-stream goes on at once"
    main.release.set()
    evidence.close()
    assert [v.camera_id for v, _ in handed] == ["plain", "sub"]
    violation = handed[1][0]
    assert sidecar(violation)["picture"] == "main-stream"
    assert loop.stats.cameras["sub"].violations == 1 and loop.stats.cameras["plain"].violations == 1


def test_without_an_evidence_folder_the_violation_goes_on_at_once(tmp_path: Path) -> None:
    main, evidence, handed = BlockedMain(), MainEvidence(), Handed()
    evidence.use({"sub": main})
    states = {"sub": camera_state("sub", FakeBackend.class_names, dwell_s=DWELL_S)}
    loop = InferenceLoop(FakeBackend(), LatestFrameSlots(), states, lambda v, f: handed.append((v, f)),
                         threading.Event(), main_evidence=evidence)
    for frame in sub_frames("sub"):
        loop.process_batch([frame])
    assert [v.snapshot for v, _ in handed] == [None]
    evidence.close()

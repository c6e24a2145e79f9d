"""Several model sessions inferring side by side in one inference loop (issue 13): both infer batches, a
camera is never in two batches at once, each camera's frames are handed on in order, stop and drain, and a
kill of the role's thread ends its helper threads."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import numpy as np

from detector.detections import Detections
from scripts.lib.chaos_run import raise_in_thread
from streams.frame import Frame
from tests.detector.test_inference_loop_pipelined import WAIT_S, HookedBackend, ended, frame, started_loop

CAMERAS = [f"cam-{i}" for i in range(6)]


class Watch:
    """The cameras inside a batch from the backend's call until the post thread has handed it on."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.busy: set[str] = set()
        self.twice: list[str] = []  # cameras found in a batch while in another
        self.handed: dict[str, list[int]] = {}

    def inferring(self, frames: Sequence[Frame]) -> None:
        with self.lock:
            cameras = {f.camera_id for f in frames}
            self.twice += sorted(self.busy & cameras)
            self.busy |= cameras
        time.sleep(0.005)  # long enough for the other session to take a batch meanwhile

    def on_batch(self, frames: list[Frame]) -> None:
        with self.lock:
            self.busy -= {f.camera_id for f in frames}
            for f in frames:
                self.handed.setdefault(f.camera_id, []).append(f.seq)


class SessionBackend(HookedBackend):
    """The fake backend that tells `watch` which frames (by their picture's identity) it infers."""

    def __init__(self, watch: Watch, pictures: dict[int, Frame]) -> None:
        super().__init__()
        self.watch, self.pictures = watch, pictures

    def detect(self, images: Sequence[np.ndarray]) -> list[Detections]:
        self.watch.inferring([self.pictures[id(image)] for image in images])
        return super().detect(images)


def test_two_sessions_share_the_batches_and_keep_each_cameras_order() -> None:
    frames = [Frame(c, seq, 1e9 + seq, float(seq), np.zeros((8, 8, 3), np.uint8), seq == 0)
              for seq in range(15) for c in CAMERAS]
    pictures = {id(f.detect_image): f for f in frames}
    watch = Watch()
    first, second = SessionBackend(watch, pictures), SessionBackend(watch, pictures)
    loop, slots, stop, thread = started_loop(first, CAMERAS, max_batch=2, on_batch=watch.on_batch,
                                             more_backends=[second])
    feeders = [threading.Thread(target=lambda c=c: [slots.put_wait(f, stop, WAIT_S) for f in frames
                                                    if f.camera_id == c]) for c in CAMERAS]
    for feeder in feeders:
        feeder.start()
    for feeder in feeders:
        feeder.join(WAIT_S)
    slots.close()
    assert ended(loop, thread)
    assert not any(t.name == "inference-2" for t in threading.enumerate())
    assert first.batch_sizes and second.batch_sizes, "both sessions inferred"
    assert watch.twice == [], "a camera is in one batch at a time"
    assert watch.handed == {c: list(range(15)) for c in CAMERAS}, "every frame handed on, in order"
    assert loop.stats.batches == len(first.batch_sizes) + len(second.batch_sizes)
    assert loop.stats.frames == 90


def test_stop_ends_every_session_thread_and_killing_the_role_ends_them_too() -> None:
    for end in ("stop", "kill"):
        loop, slots, stop, thread = started_loop(HookedBackend(), ["a"], more_backends=[HookedBackend()])
        slots.put_latest(frame("a", 0))
        deadline = time.monotonic() + WAIT_S
        while not any(t.name == "inference-2" for t in threading.enumerate()) and time.monotonic() < deadline:
            time.sleep(0.01)
        if end == "stop":
            stop.set()
        else:
            assert raise_in_thread(thread)
        assert ended(loop, thread), end
        assert not any(t.name == "inference-2" for t in threading.enumerate()), end
        stop.set()


def test_one_backend_runs_no_helper_thread() -> None:
    loop, slots, stop, thread = started_loop(HookedBackend(), ["a"])
    assert [t.name for t in threading.enumerate() if t.name.startswith("inference-")] == ["inference-post"]
    slots.close()
    assert ended(loop, thread)


def test_one_session_infers_a_cameras_next_frame_during_its_post_work() -> None:
    second_inferring, overlapped = threading.Event(), []

    def hook(call: int, images: Sequence[np.ndarray]) -> None:
        if call == 1:
            second_inferring.set()

    def on_batch(frames: list[Frame]) -> None:
        if frames[0].seq == 0:  # a replay's one camera: its next frame is not held back
            overlapped.append(second_inferring.wait(WAIT_S))

    loop, slots, stop, thread = started_loop(HookedBackend(hook), ["a"], on_batch=on_batch)
    for seq in range(2):
        assert slots.put_wait(frame("a", seq), stop, WAIT_S)
    slots.close()
    assert ended(loop, thread)
    assert overlapped == [True]

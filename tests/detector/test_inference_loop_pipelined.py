"""The inference loop's two threads (issue 13): a batch's post work (tracker, rules, evidence, hand-on)
overlaps the next batch's inference; per-camera order, detector state changes between batches, failures
that cost one frame, the verifier's expiry, and stop and drain."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

import numpy as np
import pytest

from detector.detections import Detections
from detector.inference_loop import InferenceLoop
from detector.presence import PresenceCheck, PresenceResult, Verdict, Verifier
from detector.violation import Violation
from scripts.lib.chaos_run import RoleKilled, raise_in_thread
from streams.frame import Frame
from streams.mailbox import LatestFrameSlots
from tests.detector.test_inference_loop import CARD_CLASSES, T0, FakeBackend, camera_state

IMAGE = np.zeros((60, 80, 3), np.uint8)
WAIT_S = 10.0  # for an event that comes at once when the loop works: long only so a loaded machine passes


def frame(camera: str, seq: int) -> Frame:
    return Frame(camera, seq, T0 + seq, float(seq), IMAGE, seq == 0)


class HookedBackend(FakeBackend):
    """The fake backend (one bicycle per picture) that calls `hook(call number, images)` first."""

    max_batch = 8

    def __init__(self, hook: Callable[[int, Sequence[np.ndarray]], None] = lambda n, images: None) -> None:
        super().__init__()
        self.hook = hook

    def detect(self, images: Sequence[np.ndarray]) -> list[Detections]:
        self.hook(len(self.batch_sizes), images)
        return super().detect(images)


def started_loop(backend: FakeBackend, cameras: Sequence[str], max_batch: int = 4, **options: object
                 ) -> tuple[InferenceLoop, LatestFrameSlots, threading.Event, threading.Thread]:
    slots, stop = LatestFrameSlots(cameras), threading.Event()
    states = {c: camera_state(c, CARD_CLASSES) for c in cameras}
    loop = InferenceLoop(backend, slots, states, lambda v, f: None, stop, max_batch=max_batch, max_wait_ms=1.0,
                         **options)  # type: ignore[arg-type]
    return loop, slots, stop, loop.start()


def ended(loop: InferenceLoop, thread: threading.Thread) -> bool:
    """The loop's thread ended, and its post thread with it (at once, or within a poll when killed)."""
    thread.join(WAIT_S)
    deadline = time.monotonic() + WAIT_S
    while any(t.name == "inference-post" for t in threading.enumerate()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not thread.is_alive() and not any(t.name == "inference-post" for t in threading.enumerate())


def test_a_batchs_post_work_runs_while_the_next_batch_is_inferred() -> None:
    second_inferring, overlapped = threading.Event(), []

    def hook(call: int, images: Sequence[np.ndarray]) -> None:
        if call == 1:
            second_inferring.set()
            time.sleep(0.05)  # the post thread sees it while it is inferring

    def on_batch(frames: list[Frame]) -> None:
        if frames[0].camera_id == "a":  # the first batch's post work waits for the second inference
            overlapped.append(second_inferring.wait(WAIT_S))

    loop, slots, stop, thread = started_loop(HookedBackend(hook), ["a", "b"], max_batch=1, on_batch=on_batch)
    slots.put_latest(frame("a", 0))
    slots.put_latest(frame("b", 0))
    slots.close()
    assert ended(loop, thread)
    assert overlapped == [True] and loop.stats.frames == 2


def test_each_cameras_frames_are_handed_on_in_order_on_the_post_thread() -> None:
    cameras = [f"cam-{i}" for i in range(5)]
    seen: dict[str, list[int]] = {}
    threads = set()

    def on_batch(frames: list[Frame]) -> None:
        threads.add(threading.current_thread().name)
        for f in frames:
            seen.setdefault(f.camera_id, []).append(f.seq)
        time.sleep(0.002)  # post work as slow as the inference: the two overlap on every batch

    loop, slots, stop, thread = started_loop(HookedBackend(lambda n, images: time.sleep(0.002)), cameras,
                                             on_batch=on_batch)
    for seq in range(30):
        for camera in cameras:
            assert slots.put_wait(frame(camera, seq), stop, timeout_s=WAIT_S)
    slots.close()
    assert ended(loop, thread)
    assert seen == {camera: list(range(30)) for camera in cameras}
    assert threads == {"inference-post"} and loop.stats.frames == 150


def test_state_changes_are_applied_by_the_post_thread_before_the_batch(caplog: pytest.LogCaptureFixture) -> None:
    handed: list[tuple[str, int]] = []

    def hook(call: int, images: Sequence[np.ndarray]) -> None:
        if call == 0:  # a camera added while the batch with its first frame is inferred
            loop.reconfigure({"new": camera_state("new", CARD_CLASSES)})

    def on_batch(frames: list[Frame]) -> None:
        handed.extend((f.camera_id, f.seq) for f in frames)
        if ("old", 1) in handed:
            loop.reconfigure({"old": None})  # removed: its later frames are ignored, unlogged

    with caplog.at_level(logging.WARNING, logger="detector.inference_loop"):
        loop, slots, stop, thread = started_loop(HookedBackend(hook), ["old"], on_batch=on_batch)
        for seq in range(4):
            for camera in ("new", "old"):
                assert slots.put_wait(frame(camera, seq), stop, timeout_s=WAIT_S)
        slots.close()
        assert ended(loop, thread)
    assert loop.stats.cameras["new"].frames == 4 and loop.stats.cameras["old"].frames == 2
    assert set(loop.cameras) == {"new"} and "no detector state" not in caplog.text


def test_a_failure_in_post_work_costs_one_frame(monkeypatch: pytest.MonkeyPatch) -> None:
    verifier, expiries = Verifier(), []
    real_expire = verifier.expire

    def expire_failing_once(now_ts: float) -> list[PresenceResult]:
        expiries.append(now_ts)
        if len(expiries) == 1:
            raise RuntimeError("bug in the verifier")
        return real_expire(now_ts)

    def on_batch(frames: list[Frame]) -> None:
        if any(f.seq == 3 for f in frames):
            raise OSError("picture store full")

    monkeypatch.setattr(verifier, "expire", expire_failing_once)
    handed: list[Violation] = []
    loop, slots, stop, thread = started_loop(FakeBackend(), ["a", "b"], verifier=verifier, on_batch=on_batch)
    loop.on_violation = lambda v, f: handed.append(v)
    evaluate = loop.cameras["a"].engine.evaluate

    def evaluate_failing_on_frame_5(ts: float, *args: object) -> list[Violation]:
        if ts == T0 + 5:
            raise ZeroDivisionError("bug in a rule")
        return evaluate(ts, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(loop.cameras["a"].engine, "evaluate", evaluate_failing_on_frame_5)
    for seq in range(40):
        for camera in ("a", "b"):
            assert slots.put_wait(frame(camera, seq), stop, timeout_s=WAIT_S)
    slots.close()
    assert ended(loop, thread)
    assert {c: (s.frames, s.errors) for c, s in loop.stats.cameras.items()} == {"a": (40, 1), "b": (40, 0)}
    assert sorted(v.camera_id for v in handed) == ["a", "b"], "both parked bikes confirmed after the failures"
    assert len(expiries) > 1


def test_the_post_thread_hands_on_expired_looks_while_no_frame_comes() -> None:
    verifier, verdicts = Verifier(), []
    verifier.submit(PresenceCheck("i-1", "a", frozenset({"non_motor_vehicle"}), (0.1, 0.5, 0.3, 0.9),
                                  not_before_ts=0.0, give_up_ts=100.0))
    got = threading.Event()

    def on_verdict(result: PresenceResult) -> None:
        verdicts.append((result.verdict, threading.current_thread().name))
        got.set()

    loop, slots, stop, thread = started_loop(FakeBackend(), ["a"], verifier=verifier, on_verdict=on_verdict)
    assert got.wait(WAIT_S)
    stop.set()
    assert ended(loop, thread)
    assert verdicts == [(Verdict.NO_VIEW, "inference-post")]


def test_a_stopped_loop_hands_on_the_batch_it_inferred_and_ends() -> None:
    handed: list[tuple[str, int]] = []

    def hook(call: int, images: Sequence[np.ndarray]) -> None:
        if call == 1:
            stop.set()  # stopped while the second batch is inferred

    loop, slots, stop, thread = started_loop(
        HookedBackend(hook), ["a", "b", "c"], max_batch=1,
        on_batch=lambda frames: handed.extend((f.camera_id, f.seq) for f in frames))
    for camera in "abc":
        slots.put_latest(frame(camera, 0))
    assert ended(loop, thread), "stopped without the slots closed"
    assert handed == [("a", 0), ("b", 0)], "the inferred batch is handed on; c's frame was never taken"
    assert slots.waiting("c") and loop.stats.batches == 2


def test_a_killed_loop_leaves_no_post_thread_behind_and_runs_again_when_restarted() -> None:
    """The liveness supervisor restarts a crashed role (the chaos launcher's kill): its post thread ends
    with it, and the restarted loop gets a post thread of its own."""
    loop, slots, stop, thread = started_loop(FakeBackend(), ["a"])
    slots.put_latest(frame("a", 0))
    deadline = time.monotonic() + WAIT_S
    while loop.stats.frames < 1 and time.monotonic() < deadline:  # running: both threads in their loops
        time.sleep(0.01)
    assert raise_in_thread(thread)
    assert ended(loop, thread) and isinstance(loop.failure, RoleKilled)
    slots.put_latest(frame("a", 1))
    thread = loop.start()
    slots.close()
    assert ended(loop, thread) and loop.failure is None and loop.stats.frames == 2

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import numpy as np
import pytest

from streams.frame import Frame
from streams.mailbox import LatestFrameSlots

IMAGE = np.zeros((4, 4, 3), np.uint8)


def frame(camera: str, seq: int, ts: float | None = None) -> Frame:
    return Frame(camera, seq, float(seq) if ts is None else ts, 0.0, IMAGE, seq == 0)


def test_put_latest_replaces_and_counts_the_drop() -> None:
    slots = LatestFrameSlots()
    for seq in range(3):
        slots.put_latest(frame("a", seq))
    batch = slots.take_batch(max_batch=4, max_wait_s=0, timeout_s=0)
    assert [f.seq for f in batch] == [2]
    assert slots.dropped("a") == 2 and slots.dropped("b") == 0
    assert slots.pending() == 0


def test_take_batch_returns_empty_after_timeout() -> None:
    slots = LatestFrameSlots()
    started = time.monotonic()
    assert slots.take_batch(max_batch=4, max_wait_s=0.0, timeout_s=0.05) == []
    assert time.monotonic() - started >= 0.05


def test_take_batch_returns_the_longest_waiting_first_and_at_most_max_batch() -> None:
    slots = LatestFrameSlots()
    for camera, ts in (("a", 3.0), ("b", 1.0), ("c", 2.0)):  # the waiting order decides, not the frames' time
        slots.put_latest(frame(camera, 0, ts))
    first = slots.take_batch(max_batch=2, max_wait_s=1.0, timeout_s=0)
    assert [f.camera_id for f in first] == ["a", "b"]
    assert [f.camera_id for f in slots.take_batch(max_batch=2, max_wait_s=0, timeout_s=0)] == ["c"]


def test_cameras_always_ready_are_served_in_strict_rotation() -> None:
    slots, order = LatestFrameSlots(), list[str]()
    for _ in range(6):
        for camera in "dcba" if order else "abcd":  # however the readers' puts are ordered
            slots.put_latest(frame(camera, len(order)))
        order.append("".join(sorted(f.camera_id for f in slots.take_batch(max_batch=2, max_wait_s=0, timeout_s=0))))
    assert order == ["ab", "cd", "ab", "cd", "ab", "cd"]


def test_a_replaced_frame_keeps_its_cameras_place() -> None:
    slots = LatestFrameSlots()
    for camera in "abc":
        slots.put_latest(frame(camera, 0))
    slots.put_latest(frame("a", 1))  # newer, and still before b and c
    assert [(f.camera_id, f.seq) for f in slots.take_batch(max_batch=2, max_wait_s=0, timeout_s=0)] == [
        ("a", 1), ("b", 0)]
    assert slots.waiting("c") and not slots.waiting("a")


def test_a_camera_removed_and_added_again_starts_afresh() -> None:
    slots = LatestFrameSlots()
    for camera in "ab":
        slots.put_latest(frame(camera, 0))
    slots.take_batch(max_batch=2, max_wait_s=0, timeout_s=0)  # both served
    slots.put_latest(frame("a", 1))
    slots.remove("a")
    assert not slots.waiting("a") and slots.dropped("a") == 0
    slots.put_latest(frame("a", 2))
    assert slots.pending() == 0, "a removed camera's late frames are refused"
    slots.add("a")
    slots.put_latest(frame("c", 0))
    slots.put_latest(frame("b", 1))
    slots.put_latest(frame("a", 3))
    # a and c were never served (as far as the slots know), b was: a and c first, in their waiting order.
    assert [f.camera_id for f in slots.take_batch(max_batch=3, max_wait_s=0, timeout_s=0)] == ["c", "a", "b"]


def test_take_batch_waits_max_wait_for_more_cameras() -> None:
    slots = LatestFrameSlots(cameras=("a", "b"))
    slots.put_latest(frame("a", 0))
    threading.Timer(0.05, slots.put_latest, args=(frame("b", 0),)).start()
    batch = slots.take_batch(max_batch=2, max_wait_s=2.0, timeout_s=1.0)
    assert sorted(f.camera_id for f in batch) == ["a", "b"]


def test_take_batch_stops_waiting_once_max_wait_passes() -> None:
    slots = LatestFrameSlots(cameras=("a", "b"))  # b never delivers
    slots.put_latest(frame("a", 0))
    started = time.monotonic()
    assert len(slots.take_batch(max_batch=8, max_wait_s=0.1, timeout_s=10.0)) == 1
    assert 0.1 <= time.monotonic() - started < 5.0, "after max_wait, well before the timeout"


def test_take_batch_does_not_wait_once_every_camera_is_in() -> None:
    slots = LatestFrameSlots(cameras=("a", "b"))
    slots.put_latest(frame("a", 0))
    slots.put_latest(frame("b", 0))
    started = time.monotonic()
    assert len(slots.take_batch(max_batch=8, max_wait_s=10.0, timeout_s=1.0)) == 2
    assert time.monotonic() - started < 5.0, "a batch holds one frame per camera: nothing more to wait for"


def test_put_wait_blocks_until_the_slot_is_taken() -> None:
    slots, stop = LatestFrameSlots(), threading.Event()
    assert slots.put_wait(frame("a", 0), stop, timeout_s=1)
    started = time.monotonic()
    threading.Timer(0.1, slots.take_batch, kwargs={"max_batch": 1, "max_wait_s": 0, "timeout_s": 0}).start()
    assert slots.put_wait(frame("a", 1), stop, timeout_s=5)
    assert time.monotonic() - started >= 0.1
    assert [f.seq for f in slots.take_batch(1, 0, 0)] == [1]
    assert slots.dropped("a") == 0


def test_put_wait_gives_up_on_timeout_and_on_stop() -> None:
    slots, stop = LatestFrameSlots(), threading.Event()
    slots.put_wait(frame("a", 0), stop, timeout_s=1)
    assert not slots.put_wait(frame("a", 1), stop, timeout_s=0.05)
    threading.Timer(0.05, stop.set).start()
    started = time.monotonic()
    assert not slots.put_wait(frame("a", 1), stop, timeout_s=10)
    assert time.monotonic() - started < 5.0, "at the stop, well before the timeout"
    assert [f.seq for f in slots.take_batch(1, 0, 0)] == [0]


def test_close_wakes_a_waiting_consumer_and_producer() -> None:
    slots, stop = LatestFrameSlots(), threading.Event()
    slots.put_wait(frame("a", 0), stop, timeout_s=1)
    results: dict[str, object] = {}
    producer = threading.Thread(target=lambda: results.update(put=slots.put_wait(frame("a", 1), stop, 10)))
    producer.start()
    threading.Timer(0.05, slots.close).start()
    producer.join(2)
    assert results == {"put": False}
    empty = LatestFrameSlots()
    threading.Timer(0.05, empty.close).start()
    started = time.monotonic()
    assert empty.take_batch(max_batch=4, max_wait_s=10, timeout_s=10) == []
    assert time.monotonic() - started < 5.0, "at the close, well before the timeout"


def test_max_batch_must_be_positive() -> None:
    with pytest.raises(ValueError):
        LatestFrameSlots().take_batch(0, 0, 0)


def _consume(slots: LatestFrameSlots, taken: dict[str, list[int]], done: threading.Event) -> None:
    while not (done.is_set() and slots.pending() == 0):
        for f in slots.take_batch(max_batch=3, max_wait_s=0.001, timeout_s=0.01):
            taken.setdefault(f.camera_id, []).append(f.seq)


def _run_beside_consumer(slots: LatestFrameSlots, cameras: list[str],
                         produce: Callable[[str], None]) -> dict[str, list[int]]:
    """`produce(camera)` in a thread per camera, one consumer taking batches until they are done and the
    slots drained; returns the seqs it took per camera."""
    taken: dict[str, list[int]] = {}
    done = threading.Event()
    consumer = threading.Thread(target=_consume, args=(slots, taken, done))
    producers = [threading.Thread(target=produce, args=(c,)) for c in cameras]
    consumer.start()
    for p in producers:
        p.start()
    for p in producers:
        p.join(30)
    done.set()
    consumer.join(10)
    assert not consumer.is_alive()
    return taken


def test_live_producers_under_threads_never_lose_count_or_reorder() -> None:
    """Each frame is either taken once or counted as dropped; seqs arrive in order per camera."""
    slots = LatestFrameSlots()
    cameras, per_camera = [f"cam-{i}" for i in range(6)], 3000

    def produce(camera: str) -> None:
        for seq in range(per_camera):
            slots.put_latest(frame(camera, seq))

    taken = _run_beside_consumer(slots, cameras, produce)
    for camera in cameras:
        seqs = taken[camera]
        assert seqs == sorted(set(seqs))
        assert seqs[-1] == per_camera - 1  # the newest frame is never the one dropped
        assert len(seqs) + slots.dropped(camera) == per_camera


def test_replay_producers_under_threads_deliver_every_frame_in_order() -> None:
    slots, stop = LatestFrameSlots(), threading.Event()
    cameras, per_camera = [f"file-{i}" for i in range(4)], 1000

    def produce(camera: str) -> None:
        for seq in range(per_camera):
            while not slots.put_wait(frame(camera, seq), stop, timeout_s=1):
                pass

    taken = _run_beside_consumer(slots, cameras, produce)
    for camera in cameras:
        assert taken[camera] == list(range(per_camera))
        assert slots.dropped(camera) == 0


def test_a_camera_held_in_flight_is_not_taken_again_until_released() -> None:
    slots = LatestFrameSlots(cameras=("a", "b"))
    slots.put_latest(frame("a", 0))
    assert [f.seq for f in slots.take_batch(max_batch=4, max_wait_s=0, timeout_s=0, hold=True)] == [0]
    slots.put_latest(frame("a", 1))
    slots.put_latest(frame("b", 0))
    started = time.monotonic()
    assert [f.camera_id for f in slots.take_batch(max_batch=4, max_wait_s=10.0, timeout_s=0, hold=True)] == ["b"]
    assert time.monotonic() - started < 5.0, "every camera not in flight is in: nothing more to wait for"
    assert slots.take_batch(max_batch=4, max_wait_s=0, timeout_s=0.05) == [], "a's frame waits for its release"
    slots.release(["a"])
    assert [(f.camera_id, f.seq) for f in slots.take_batch(max_batch=4, max_wait_s=0, timeout_s=0)] == [("a", 1)]


def test_release_wakes_a_waiting_take_and_remove_forgets_the_camera_in_flight() -> None:
    slots = LatestFrameSlots(cameras=("a",))
    slots.put_latest(frame("a", 0))
    slots.take_batch(max_batch=1, max_wait_s=0, timeout_s=0, hold=True)
    slots.put_latest(frame("a", 1))
    threading.Timer(0.05, slots.release, args=(["a"],)).start()
    assert [f.seq for f in slots.take_batch(max_batch=1, max_wait_s=0, timeout_s=5.0)] == [1]
    slots.put_latest(frame("a", 2))
    slots.take_batch(max_batch=1, max_wait_s=0, timeout_s=0, hold=True)
    slots.remove("a")
    slots.add("a")
    slots.put_latest(frame("a", 3))
    assert [f.seq for f in slots.take_batch(max_batch=1, max_wait_s=0, timeout_s=0)] == [3]


def test_closed_slots_still_hand_out_a_frame_whose_camera_is_released() -> None:
    slots = LatestFrameSlots(cameras=("a",))
    slots.put_latest(frame("a", 0))
    slots.take_batch(max_batch=1, max_wait_s=0, timeout_s=0, hold=True)
    slots.put_latest(frame("a", 1))
    slots.close()
    threading.Timer(0.05, slots.release_all).start()
    assert [f.seq for f in slots.take_batch(max_batch=1, max_wait_s=0, timeout_s=5.0)] == [1]
    assert slots.take_batch(max_batch=1, max_wait_s=0, timeout_s=5.0) == [], "closed and empty: at once"

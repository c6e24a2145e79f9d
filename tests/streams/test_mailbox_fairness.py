"""Fairness under overload (issue 13), deterministic: the real LatestFrameSlots between simulated live
readers and a simulated detector, on a simulated clock. 24 cameras at 1 frame/s, each with its own phase
and a little jitter, are offered to a detector that keeps up with half of them: every camera must get
its share of the detector, within 20 % of the mean; also with two model sessions taking batches side by
side, each batch's cameras in flight until it is done."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
import pytest

from streams.frame import Frame
from streams.mailbox import LatestFrameSlots

IMAGE = np.zeros((4, 4, 3), np.uint8)


@dataclass(frozen=True)
class Overload:
    cameras: int = 24
    capacity: float = 0.5  # the share of the offered frames the detector can take
    max_batch: int = 8
    seconds: float = 600.0
    jitter: float = 0.05  # of the 1 s frame period
    skip_while_waiting: bool = False  # the live reader decodes no keyframe while its frame still waits
    sessions: int = 1  # model sessions inferring side by side, each at its share of the capacity


def served_per_camera(overload: Overload, seed: int = 13) -> list[int]:
    """Frames the detector took from each camera. A reader puts its frame at its phase plus jitter each
    second (`put_latest`, its frame's ts the put time); the detector takes a batch whenever it is free and a
    frame waits, and is busy for the batch's frames at its rate."""
    rng = np.random.default_rng(seed)
    names = [f"cam-{i:02d}" for i in range(overload.cameras)]
    phases = rng.uniform(0, 1, overload.cameras)
    periods = np.arange(int(overload.seconds))
    times = phases[:, None] + periods[None, :] + rng.uniform(0, overload.jitter, (overload.cameras, len(periods)))
    puts = sorted((float(t), camera) for camera, row in enumerate(times) for t in row)
    per_frame_s = overload.sessions / (overload.cameras * overload.capacity)
    slots, served = LatestFrameSlots(names), Counter[str]()
    busy: list[tuple[float, list[str]]] = []  # each session inferring: when it is done, and its batch's cameras
    now, next_put = 0.0, 0
    while next_put < len(puts):
        while next_put < len(puts) and puts[next_put][0] <= now:
            ts, camera = puts[next_put]
            if not (overload.skip_while_waiting and slots.waiting(names[camera])):
                slots.put_latest(Frame(names[camera], next_put, ts, ts, IMAGE, True))
            next_put += 1
        for done in [session for session in busy if session[0] <= now]:
            busy.remove(done)
            slots.release(done[1])
        while len(busy) < overload.sessions and (batch := slots.take_batch(overload.max_batch, 0, 0, hold=True)):
            served.update(f.camera_id for f in batch)
            busy.append((now + len(batch) * per_frame_s, [f.camera_id for f in batch]))
        now = max(now, min([end for end, _ in busy] + [puts[min(next_put, len(puts) - 1)][0]]))
    return [served[name] for name in names]


def spread(counts: list[int]) -> tuple[float, float]:
    """The worst camera below and above the mean, as shares of it."""
    mean = float(np.mean(counts))
    return min(counts) / mean - 1, max(counts) / mean - 1


@pytest.mark.parametrize("overload", [Overload(), Overload(skip_while_waiting=True), Overload(max_batch=1),
                                      Overload(cameras=48, capacity=0.25, seconds=300), Overload(sessions=2),
                                      Overload(sessions=2, skip_while_waiting=True)],
                         ids=["24 at 2x, batches of 8", "skipping while waiting", "batches of 1", "48 at 4x",
                              "two sessions", "two sessions, skipping while waiting"])
def test_every_camera_gets_its_share_under_overload(overload: Overload) -> None:
    counts = served_per_camera(overload)
    expected = overload.seconds * overload.capacity
    assert sum(counts) >= 0.95 * overload.cameras * expected, "the detector stays busy"
    low, high = spread(counts)
    assert low >= -0.2 and high <= 0.2, f"per camera {min(counts)}..{max(counts)}, mean {np.mean(counts):.1f}"

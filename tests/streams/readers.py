"""Running a CameraReader in a test: record health events, consume its frames on a thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from streams.frame import DecodePolicy, Frame
from streams.health import CameraState, HealthEvent
from streams.mailbox import LatestFrameSlots
from streams.source import CameraReader, SourceSettings

# Short timeouts and backoff keep the tests quick; the logic is the production one. The open
# timeout exceeds offline_after_s, so OFFLINE must come on time while a connect still waits.
READ_TIMEOUT_S = 2.0
OPEN_TIMEOUT_S = 5.0
OFFLINE_AFTER_S = 4.0


def rtsp_camera(url: str, **overrides: object) -> SourceSettings:
    fields: dict[str, object] = {"camera_id": "cam-1", "url": url, "decode": DecodePolicy.SAMPLED,
                                 "detect_fps": 5.0, "open_timeout_s": OPEN_TIMEOUT_S,
                                 "read_timeout_s": READ_TIMEOUT_S, "offline_after_s": OFFLINE_AFTER_S,
                                 "backoff_max_s": 2.0}
    fields.update(overrides)
    return SourceSettings(**fields)  # type: ignore[arg-type]


@dataclass
class Recorder:
    """Health events and frames one reader produced, with waits that fail loudly on timeout."""

    events: list[HealthEvent] = field(default_factory=list)
    frames: list[Frame] = field(default_factory=list)
    _cond: threading.Condition = field(default_factory=threading.Condition)

    def on_health(self, event: HealthEvent) -> None:
        with self._cond:
            self.events.append(event)
            self._cond.notify_all()

    def add_frames(self, frames: list[Frame]) -> None:
        with self._cond:
            self.frames.extend(frames)
            self._cond.notify_all()

    @property
    def states(self) -> list[CameraState]:
        with self._cond:
            return [e.state for e in self.events]

    def wait_for(self, predicate: Callable[[], bool], timeout_s: float, what: str) -> None:
        with self._cond:
            if not self._cond.wait_for(predicate, timeout_s):
                raise AssertionError(f"timed out after {timeout_s} s waiting for {what}; "
                                     f"states {[e.state.value for e in self.events]}, {len(self.frames)} frames")

    def wait_state(self, state: CameraState, timeout_s: float, occurrence: int = 1) -> None:
        self.wait_for(lambda: [e.state for e in self.events].count(state) >= occurrence, timeout_s,
                      f"{state.value} #{occurrence}")

    def wait_frames(self, count: int, timeout_s: float) -> None:
        self.wait_for(lambda: len(self.frames) >= count, timeout_s, f"{count} frames")

    def event(self, state: CameraState, occurrence: int = 1) -> HealthEvent:
        with self._cond:
            return [e for e in self.events if e.state is state][occurrence - 1]


@contextmanager
def running(settings: SourceSettings, consume_delay_s: float = 0.0,
            slots: LatestFrameSlots | None = None) -> Iterator[tuple[CameraReader, Recorder]]:
    """Start a reader and a consumer of its slot (`slots`, or new ones); on exit stop both and check
    they ended promptly."""
    slots, stop, recorder = slots or LatestFrameSlots(), threading.Event(), Recorder()
    reader = CameraReader(settings, slots, recorder.on_health, stop)

    def consume() -> None:
        while not stop.is_set():
            batch = slots.take_batch(max_batch=4, max_wait_s=0.0, timeout_s=0.05)
            recorder.add_frames(batch)
            if batch and consume_delay_s:
                time.sleep(consume_delay_s)

    consumer = threading.Thread(target=consume, daemon=True)
    consumer.start()
    thread = reader.start()
    assert thread.name == f"reader-{settings.camera_id}" and thread.daemon
    try:
        yield reader, recorder
    finally:
        stop.set()
        slots.close()
        assert reader.join(settings.read_timeout_s + settings.open_timeout_s), "reader did not stop"
        consumer.join(5)

"""Camera health: the states a source reports, the event it emits on each change, and the
reporter that emits them once each, in order, from a reader and its watchdog."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

log = logging.getLogger(__name__)


class CameraState(StrEnum):
    CONNECTING = "connecting"
    ONLINE = "online"
    STALLED = "stalled"  # connected, but no usable picture within the read timeout
    OFFLINE = "offline"  # cannot connect, the connection dropped, or no usable picture for offline_after_s
    FINISHED = "finished"  # a file source reached its end
    FAILED = "failed"  # a replayed file cannot be read: retrying would not help, the reader ends


@dataclass(frozen=True, slots=True)
class HealthEvent:
    """Emitted once per state change of a camera (never repeated for the same state)."""

    camera_id: str
    state: CameraState
    ts: float  # wall clock, POSIX seconds
    reason: str = ""


# States from which the watchdog reports OFFLINE; and those logged at INFO, not WARNING.
_WATCHED = (CameraState.CONNECTING, CameraState.ONLINE, CameraState.STALLED)
_ROUTINE = (CameraState.CONNECTING, CameraState.ONLINE, CameraState.FINISHED)


class HealthReporter:
    """One camera's state, reported once per change, in order, from the reader and its watchdog.

    STALLED only follows ONLINE: a camera already offline stays offline until it gives a usable
    picture again, so a stall cut short by the watchdog never shows as OFFLINE -> STALLED.
    `watch` (the watchdog's loop) reports OFFLINE once no usable picture came for
    `offline_after_s`, whatever the reader is blocked on (a connect or read bounded only by
    its own timeouts); `picture_seen` restarts that clock.

    >>> health = HealthReporter("cam-01", on_health=lambda e: print(e.state.value), offline_after_s=15.0)
    >>> health.report(CameraState.CONNECTING, ""); health.report(CameraState.STALLED, "")
    connecting
    >>> health.report(CameraState.ONLINE, ""); health.report(CameraState.ONLINE, "")
    online
    """

    def __init__(self, camera_id: str, on_health: Callable[[HealthEvent], None], offline_after_s: float) -> None:
        if not offline_after_s > 0:
            raise ValueError(f"camera {camera_id}: offline_after_s must be > 0, got {offline_after_s}")
        self.camera_id = camera_id
        self.offline_after_s = offline_after_s
        self._on_health = on_health
        self._lock = threading.Lock()  # held while reporting: events leave in the order of the changes
        self._state: CameraState | None = None
        self._last_picture = time.monotonic()

    @property
    def state(self) -> CameraState | None:
        return self._state

    def report(self, state: CameraState, reason: str) -> None:
        with self._lock:
            self._report(state, reason)

    def picture_seen(self) -> None:
        self._last_picture = time.monotonic()

    def watch(self, stop: threading.Event, done: threading.Event) -> None:
        """Until `done` (or `stop`), report OFFLINE once no usable picture came for offline_after_s.

        The clock starts now, when the reader starts connecting.
        """
        self._last_picture = time.monotonic()
        while not done.wait(self._seconds_to_deadline()) and not stop.is_set():
            with self._lock:
                silent_s = time.monotonic() - self._last_picture
                if silent_s >= self.offline_after_s and self._state in _WATCHED:
                    self._report(CameraState.OFFLINE, f"no usable picture for {silent_s:.0f} s")

    def _seconds_to_deadline(self) -> float:
        remaining = self._last_picture + self.offline_after_s - time.monotonic()
        return remaining if remaining > 0 else self.offline_after_s  # already past: look again later

    def _report(self, state: CameraState, reason: str) -> None:
        if state is self._state or (state is CameraState.STALLED and self._state is not CameraState.ONLINE):
            log.debug("camera %s: still %s: %s", self.camera_id, self._state, reason)
            return
        self._state = state
        level = logging.INFO if state in _ROUTINE else logging.WARNING
        log.log(level, "camera %s: %s%s", self.camera_id, state, f" ({reason})" if reason else "")
        self._on_health(HealthEvent(self.camera_id, state, time.time(), reason))

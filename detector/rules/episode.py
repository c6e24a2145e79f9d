"""Frame time as rules count it, and episodes: a condition that must hold for long enough."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class FrameClock:
    """Online seconds between frames: a gap longer than `max_frame_gap_s` is the camera being
    offline and counts as nothing (time-based rules freeze, they do not reset)."""

    max_frame_gap_s: float
    _last_ts: float | None = None

    def advance(self, ts: float) -> float:
        """Seconds since the previous frame, or 0 across an offline gap or a repeated timestamp."""
        gap = 0.0 if self._last_ts is None else ts - self._last_ts
        self._last_ts = ts if self._last_ts is None else max(self._last_ts, ts)
        return gap if 0 < gap <= self.max_frame_gap_s else 0.0


@dataclass(slots=True)
class Episode:
    """A condition that holds for `hold_s` of online time, lapses of up to `lapse_tolerance_s`
    included, confirms once; a longer lapse ends the episode, and the next one may confirm again.

    >>> episode, confirmations = Episode(hold_s=10, lapse_tolerance_s=3), []
    >>> for t in range(30):
    ...     if episode.step(holds=not 12 <= t < 14, dt=1.0, ts=t): confirmations.append(t)
    >>> confirmations
    [10]
    """

    hold_s: float
    lapse_tolerance_s: float
    started_ts: float | None = None
    held_s: float = 0.0
    lapsed_s: float = 0.0
    confirmed: bool = False

    def step(self, holds: bool, dt: float, ts: float) -> bool:
        """Advance by `dt` online seconds to frame time `ts`; True on the frame that confirms."""
        if self.started_ts is None:
            if holds:
                self.started_ts, self.held_s, self.lapsed_s = ts, 0.0, 0.0
            return False
        self.held_s += dt
        self.lapsed_s = 0.0 if holds else self.lapsed_s + dt
        if self.lapsed_s > self.lapse_tolerance_s:
            self.started_ts, self.confirmed = None, False
            return False
        if holds and not self.confirmed and self.held_s >= self.hold_s:
            self.confirmed = True
            return True
        return False

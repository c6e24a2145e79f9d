"""DurationHistogram: durations counted into fixed buckets, fixed memory, safe across threads.

The stages time their work with it (frame age, inference, storing, publishing) and keep no knowledge of
Prometheus; the app reads `snapshot()` at scrape time and serves it as a histogram (aibrain/live/metrics.py).
"""

from __future__ import annotations

import bisect
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class HistogramSnapshot:
    """A consistent copy: `cumulative[i]` observations were <= `bounds[i]` (Prometheus' `le`), `count` in all
    (the +Inf bucket), their sum `sum_s` in seconds."""

    bounds: tuple[float, ...]
    cumulative: tuple[int, ...]
    count: int
    sum_s: float


class DurationHistogram:
    """Counts of durations in seconds per bucket: the upper bounds given, strictly increasing, plus +Inf.

    A negative duration counts as 0: the two ends of a span may be read on different clocks (another
    node's commit time), and a negative observation would make the served sum run backwards.

    >>> histogram = DurationHistogram((0.1, 1.0))
    >>> for seconds in (0.05, 0.1, 0.5, 3.0):
    ...     histogram.observe(seconds)
    >>> histogram.snapshot()
    HistogramSnapshot(bounds=(0.1, 1.0), cumulative=(2, 3), count=4, sum_s=3.65)
    """

    def __init__(self, bounds: Sequence[float]) -> None:
        bounds = tuple(float(bound) for bound in bounds)
        if not bounds or not all(math.isfinite(b) and b > 0 for b in bounds) or list(bounds) != sorted(set(bounds)):
            raise ValueError(f"bucket bounds must be finite, positive and strictly increasing, got {bounds}")
        self.bounds = bounds
        self._lock = threading.Lock()
        self._counts = [0] * (len(bounds) + 1)  # per bucket, not cumulative; the last one is above every bound
        self._sum_s = 0.0

    def observe(self, seconds: float) -> None:
        seconds = max(seconds, 0.0)
        index = bisect.bisect_left(self.bounds, seconds)  # the first bound >= seconds: Prometheus' `le`
        with self._lock:
            self._counts[index] += 1
            self._sum_s += seconds

    def snapshot(self) -> HistogramSnapshot:
        with self._lock:
            counts, sum_s = list(self._counts), self._sum_s
        cumulative, running = [], 0
        for count in counts[:-1]:
            running += count
            cumulative.append(running)
        return HistogramSnapshot(self.bounds, tuple(cumulative), running + counts[-1], sum_s)

"""Capped exponential backoff between reconnect attempts."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class Backoff:
    """Delay before the next attempt: `initial`, then times `factor` per failure, at most `maximum`.

    `reset()` after a success, so a camera that drops once an hour reconnects after `initial`
    again, not after the cap. `initial` is at least 1 s: never more than one attempt per second
    per camera, however many cameras are down at once.

    >>> b = Backoff(initial=1.0, factor=2.0, maximum=5.0)
    >>> [b.next_delay() for _ in range(5)]
    [1.0, 2.0, 4.0, 5.0, 5.0]
    >>> b.reset(); b.next_delay()
    1.0
    """

    initial: float = 1.0
    factor: float = 2.0
    maximum: float = 15.0
    _failures: int = field(default=0, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.initial < 1.0:
            raise ValueError(f"backoff initial must be >= 1 s, got {self.initial}")
        if self.factor < 1.0:
            raise ValueError(f"backoff factor must be >= 1, got {self.factor}")
        if self.maximum < self.initial:
            raise ValueError(f"backoff maximum {self.maximum} is below initial {self.initial}")

    def next_delay(self) -> float:
        """The delay to wait now; each call counts one more failure."""
        # Exponent bounded so a camera down for days cannot overflow the float.
        delay = self.initial * self.factor ** min(self._failures, 64)
        self._failures += 1
        return min(delay, self.maximum)

    def reset(self) -> None:
        self._failures = 0

    @property
    def failures(self) -> int:
        return self._failures

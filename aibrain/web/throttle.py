"""Login throttling: after too many failed sign-ins for one user name or from one address, further
attempts are refused for a while, whatever the password (guessing gets 5 tries a minute, not 5,000)."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field


@dataclass
class LoginThrottle:
    """`max_failures` failures within `window_s` lock the user name, or the address, for `lock_s`.

    Kept in the process: one workbench process serves a centre; a restart forgets the counts.

    >>> throttle = LoginThrottle(max_failures=2, window_s=60, lock_s=60)
    >>> throttle.failed("zhang", "10.0.0.1", now=0); throttle.failed("zhang", "10.0.0.2", now=1)
    >>> throttle.locked_for("zhang", "10.0.0.3", now=2)
    59.0
    >>> throttle.locked_for("li", "10.0.0.3", now=2)
    0.0
    """

    max_failures: int = 5
    window_s: float = 60.0
    lock_s: float = 60.0
    _failures: dict[str, deque[float]] = field(default_factory=dict)
    _locked_until: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def locked_for(self, username: str, address: str, now: float) -> float:
        """Seconds until a sign-in for `username` from `address` is tried again; 0 when it may be now."""
        with self._lock:
            until = max(self._locked_until.get(key, 0.0) for key in _keys(username, address))
        return max(0.0, float(until - now))

    def failed(self, username: str, address: str, now: float) -> None:
        with self._lock:
            for key in _keys(username, address):
                recent = self._failures.setdefault(key, deque())
                recent.append(now)
                while recent and recent[0] <= now - self.window_s:
                    recent.popleft()
                if len(recent) >= self.max_failures:
                    self._locked_until[key] = now + self.lock_s
                    recent.clear()
            self._forget_expired(now)

    def succeeded(self, username: str) -> None:
        with self._lock:
            self._failures.pop(_user_key(username), None)

    def _forget_expired(self, now: float) -> None:
        # Bounded memory under a spray of user names: stale entries go at each failure.
        for key in [key for key, until in self._locked_until.items() if until <= now]:
            del self._locked_until[key]
        for key in [key for key, times in self._failures.items() if not times or times[-1] <= now - self.window_s]:
            del self._failures[key]


def _user_key(username: str) -> str:
    return "user:" + username.casefold()


def _keys(username: str, address: str) -> tuple[str, str]:
    return _user_key(username), "address:" + address

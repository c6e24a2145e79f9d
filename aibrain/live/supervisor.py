"""Liveness of a live run: every role thread watched from the main thread.

A role whose thread crashed is logged and started again after a capped backoff; a role that
keeps crashing (`max_crashes` within `window_s`) makes the supervisor give up, and `aibrain run`
exits with EXIT_ROLE_FAILED so its own supervisor (systemd, Kubernetes) restarts the process whole.
A role that returned by itself (a file camera at its end) is finished, not crashed.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from common.backoff import Backoff
from common.redact import describe
from common.role import ThreadRole

log = logging.getLogger(__name__)

EXIT_ROLE_FAILED = 3
CHECK_EVERY_S = 1.0  # how often the main thread looks: a crash is noticed well within 10 s


@dataclass(frozen=True)
class RestartPolicy:
    """Restart after `backoff_initial_s`, doubling up to `backoff_max_s` while crashes go on; more
    than `max_crashes` crashes of one role within `window_s` and the supervisor gives up."""

    backoff_initial_s: float = 1.0
    backoff_max_s: float = 10.0
    max_crashes: int = 5
    window_s: float = 600.0


class RoleState(StrEnum):
    ALIVE = "alive"
    FINISHED = "finished"  # returned by itself: a file camera at its end, or never started
    RESTARTING = "restarting"  # crashed, waiting out its backoff


@dataclass
class _Watch:
    role: ThreadRole
    backoff: Backoff
    crashes: deque[float] = field(default_factory=deque)  # monotonic times within the window
    restarts: int = 0
    restart_at: float | None = None  # set while a crash waits for its restart


class Supervisor:
    """Call `check()` every CHECK_EVERY_S from the main thread (no thread of its own to die):
    it notices crashed roles, restarts those whose backoff is over, and returns False once a
    role crashed more than the policy allows. `states()` and `restarts()` feed /healthz and metrics.

    >>> supervisor = Supervisor([intake, relay, inference, *readers])  # doctest: +SKIP
    >>> while not stop.wait(CHECK_EVERY_S):                            # doctest: +SKIP
    ...     if not supervisor.check(): break                           # doctest: +SKIP
    """

    def __init__(self, roles: Iterable[ThreadRole], policy: RestartPolicy = RestartPolicy(),
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.policy, self.clock = policy, clock
        self._watches: dict[str, _Watch] = {}
        self.watch(roles)
        self.gave_up: str | None = None  # the role that crashed too often

    def watch(self, roles: Iterable[ThreadRole]) -> None:
        """Watch exactly `roles` from now on (a site reload adds, removes and replaces readers): a role
        already watched keeps its crash history; one no longer named is forgotten. Call it from the
        thread that calls `check()`; readers of `states()` see the old set or the new, never a mix."""
        watches = {}
        for role in roles:
            kept = self._watches.get(role.thread_name)
            watches[role.thread_name] = kept if kept is not None and kept.role is role else _Watch(
                role, Backoff(self.policy.backoff_initial_s, maximum=self.policy.backoff_max_s))
        self._watches = watches

    def check(self) -> bool:
        now = self.clock()
        for name, watch in self._watches.items():
            if not watch.role.crashed():
                continue
            if watch.restart_at is None:
                self._crashed(name, watch, now)
                if self.gave_up is not None:
                    return False
            elif now >= watch.restart_at:
                watch.restart_at = None
                watch.restarts += 1
                log.warning("role %s: restarting (restart %d)", name, watch.restarts)
                watch.role.start()
        return True

    def _crashed(self, name: str, watch: _Watch, now: float) -> None:
        while watch.crashes and watch.crashes[0] < now - self.policy.window_s:
            watch.crashes.popleft()
        if not watch.crashes:
            watch.backoff.reset()
        watch.crashes.append(now)
        reason = describe(watch.role.failure) if watch.role.failure is not None else "unknown"
        if len(watch.crashes) > self.policy.max_crashes:
            self.gave_up = name
            log.critical("role %s crashed %d times within %.0f s (last: %s); giving up, so that the process "
                         "exits and its supervisor restarts it", name, len(watch.crashes), self.policy.window_s,
                         reason)
            return
        delay = watch.backoff.next_delay()
        watch.restart_at = now + delay
        log.error("role %s crashed (%s); restarting in %.0f s", name, reason, delay)

    def states(self) -> dict[str, RoleState]:
        return {name: RoleState.ALIVE if watch.role.alive()
                else RoleState.RESTARTING if watch.role.crashed() else RoleState.FINISHED
                for name, watch in self._watches.items()}

    def restarts(self) -> dict[str, int]:
        return {name: watch.restarts for name, watch in self._watches.items()}

    def healthy(self) -> bool:
        return self.gave_up is None and RoleState.RESTARTING not in self.states().values()

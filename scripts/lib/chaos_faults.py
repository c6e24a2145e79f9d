"""The faults of a chaos run: a schedule drawn from a seed, then played against the rig.

Faults of different kinds may overlap (the broker down while the database is down, a restart
while the database is down: the run then stops with incidents it cannot store, and starts again
once the database is back); two of one kind (and target) never do: the second waits for the
first to end. Every fault but a thread kill is an outage: injected at `at_s`, undone `hold_s`
after it was injected.
"""

from __future__ import annotations

import heapq
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from .chaos_rig import Rig

FIRST_FAULT_S = (20.0, 30.0)  # the run loads its model and its cameras connect first
GAP_S = (8.0, 25.0)  # between the starts of two faults
END_MARGIN_S = 15.0  # no fault starts this close to the end
ROLE_THREADS = ("inference", "routing-intake", "outbox-relay", "feedback-consumer", "deadline-watcher",
                "verification")
TICK_S = 0.5
RETRY_S = 5.0  # a thread kill while the run is stopped or starting waits for its roles


class FaultKind(StrEnum):
    """What a fault does to the run (and, for an outage, undoes `hold_s` later)."""

    BROKER = "broker"  # RabbitMQ node stopped, then started
    DATABASE = "database"  # PostgreSQL stopped (fast: connections cut), then started
    CAMERA = "camera"  # a camera's RTSP server killed (SIGKILL), then started on its port
    THREAD = "thread"  # a role thread of the run killed; the run's supervisor must restart it
    RESTART = "restart"  # SIGTERM to `aibrain run`, then started again


HOLD_S = {FaultKind.BROKER: (5.0, 20.0), FaultKind.DATABASE: (5.0, 20.0), FaultKind.CAMERA: (5.0, 20.0),
          FaultKind.THREAD: (0.0, 0.0), FaultKind.RESTART: (1.0, 5.0)}


@dataclass(frozen=True)
class Fault:
    """One planned fault, e.g. `Fault(63.2, FaultKind.BROKER, "", 16.4)`: the broker down for 16.4 s."""

    at_s: float  # since the run started
    kind: FaultKind
    target: str  # camera id or thread name; "" for the others
    hold_s: float

    def describe(self) -> str:
        return f"{self.kind}{f' {self.target}' if self.target else ''}"


def plan(rng: random.Random, duration_s: float, cameras: list[str]) -> list[Fault]:
    """The faults of a run of `duration_s`: each kind once in a shuffled order, then kinds drawn at
    random, starting `GAP_S` apart."""
    targets = {FaultKind.CAMERA: cameras, FaultKind.THREAD: [*ROLE_THREADS, *(f"reader-{c}" for c in cameras)]}
    first = list(FaultKind)
    rng.shuffle(first)
    faults = []
    at = rng.uniform(*FIRST_FAULT_S)
    while at < duration_s - END_MARGIN_S:
        kind = first.pop(0) if first else rng.choice(list(FaultKind))
        target = rng.choice(targets[kind]) if kind in targets else ""
        faults.append(Fault(round(at, 1), kind, target, round(rng.uniform(*HOLD_S[kind]), 1)))
        at += rng.uniform(*GAP_S)
    return faults


Action = Callable[[Rig, str], None]  # (rig, target)
ACTIONS: dict[FaultKind, tuple[Action, Action | None]] = {  # kind -> (inject, undo)
    FaultKind.BROKER: (lambda rig, _: rig.stop_broker(), lambda rig, _: rig.start_broker()),
    FaultKind.DATABASE: (lambda rig, _: rig.stop_database(), lambda rig, _: rig.start_database()),
    FaultKind.CAMERA: (lambda rig, camera: rig.kill_camera(camera), lambda rig, camera: rig.start_camera(camera)),
    FaultKind.THREAD: (lambda rig, thread: rig.pipeline.kill_thread(thread), None),
    FaultKind.RESTART: (lambda rig, _: rig.stop_run(), lambda rig, _: rig.want_run()),
}


@dataclass(frozen=True, order=True)
class _Step:
    at_s: float
    undo: bool  # at the same time, an injection goes before an undo (False < True)
    fault: Fault


def play(rig: Rig, faults: list[Fault], duration_s: float, started: float) -> Counter[str]:
    """Inject each fault at its time (late when an earlier step took long: a broker takes a while
    to start) and undo it `hold_s` after it was injected, keeping the run going between steps,
    until `duration_s` after `started`; the faults injected, by kind."""
    steps = [_Step(f.at_s, False, f) for f in faults]
    heapq.heapify(steps)
    back_at: dict[tuple[FaultKind, str], float] = {}  # outages under way -> when they end
    injected: Counter[str] = Counter()
    while steps:
        step = heapq.heappop(steps)
        fault = step.fault
        key = (fault.kind, fault.target)
        if not step.undo and key in back_at:  # its previous outage started late and is not over
            heapq.heappush(steps, _Step(back_at[key] + 1.0, False, fault))
            continue
        wait_until(rig, started + step.at_s)
        if fault.kind is FaultKind.THREAD and not rig.pipeline.ready():  # no thread to kill now
            retry_at = time.monotonic() - started + RETRY_S
            if retry_at < duration_s:
                heapq.heappush(steps, _Step(retry_at, False, fault))
            else:
                rig.say(f"+{retry_at - RETRY_S:6.1f} s  {fault.describe()}: not killed, the run never got ready")
            continue
        elapsed = time.monotonic() - started
        inject, undo = ACTIONS[fault.kind]
        if step.undo and undo is not None:
            rig.say(f"+{elapsed:6.1f} s  {fault.describe()}: back")
            undo(rig, fault.target)
            del back_at[key]
            continue
        rig.say(f"+{elapsed:6.1f} s  {fault.describe()}: " + (f"down for {fault.hold_s:g} s" if undo else "killed"))
        inject(rig, fault.target)
        injected[fault.kind.value] += 1
        if undo is not None:
            back_at[key] = time.monotonic() - started + fault.hold_s
            heapq.heappush(steps, _Step(back_at[key], True, fault))
    wait_until(rig, started + duration_s)
    return injected


def wait_until(rig: Rig, deadline: float) -> None:
    """Sleep until `deadline` (monotonic), keeping the run going meanwhile."""
    while True:
        rig.keep_running()
        left = deadline - time.monotonic()
        if left <= 0:
            return
        time.sleep(min(TICK_S, left))

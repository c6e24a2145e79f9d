"""The routing stage's loop: takes violations and camera health events off a queue and stores them.

It runs on its own thread so a slow database never stalls inference. A write that fails because
the database is away is retried with capped backoff, never dropped; one the database refuses as
data is parked (kept in a file, logged loudly) so it cannot block every camera behind it. What is
still unstored when the process stops goes to the spool, which the next start stores first.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from sqlalchemy.exc import SQLAlchemyError

from common.backoff import Backoff
from common.durations import DurationHistogram
from common.redact import describe
from common.role import ThreadRole
from common.stage_cpu import Stage, stage_cpu
from detector.violation import Violation
from routing.incidents.database_errors import data_refusal
from routing.incidents.dispatch import Dispatcher
from routing.incidents.spool import Spool, encode
from streams.health import HealthEvent

log = logging.getLogger(__name__)

IntakeItem = Violation | HealthEvent

# The database (or the path to it) away: waiting mends these. Anything else is the item's fault.
_OUTAGES = (SQLAlchemyError, OSError)

# Bucket bounds, seconds, of a violation's wait for its commit: a few ms to a queue behind a slow database,
# up to the minutes of an outage (writes are retried, never dropped).
COMMIT_BOUNDS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)


@dataclass
class IntakeStats:
    incidents: int = 0
    camera_events: int = 0
    write_retries: int = 0
    parked: int = 0  # refused by the database as data, kept in the parked file
    spooled: int = 0  # unstored at stop, kept in the spool for the next start
    replayed: int = 0  # read back from the spool at start
    # Per incident stored: its violation handed in (`submit`, as the rule confirmed it) to its commit;
    # violations read back from the spool are not timed (confirmed by an earlier run).
    commit_latency: DurationHistogram = field(default_factory=lambda: DurationHistogram(COMMIT_BOUNDS_S))


def refusal(exc: Exception) -> str | None:
    """Why storing an item can never succeed, or None when the database is away and waiting may mend it.

    Refused: a value the database rejects as data (`routing.incidents.database_errors.data_refusal`), one the alert
    contract rejects (a ValueError), and any other error that is not an outage (a bug: retrying the
    same item would fail the same way, for ever).
    """
    if isinstance(exc, SQLAlchemyError):
        return data_refusal(exc)
    return None if isinstance(exc, _OUTAGES) else describe(exc)


def item_label(item: IntakeItem) -> str:
    if isinstance(item, Violation):
        return f"violation {item.id} (camera {item.camera_id} zone {item.zone!r} kind {item.kind})"
    return f"camera event (camera {item.camera_id} state {item.state})"


class RoutingIntake(ThreadRole):
    """Owns the unit of work for each violation: one `Dispatcher.dispatch` call, retried until stored.

    `spool` keeps what is refused (parked) and what is unstored at stop; `start()` first queues what
    the last stop left there. After `stop`, what is queued is still written while the database is
    there; if it is not, `spool_remaining()` (called by whoever stops the intake, once its join times
    out) moves the queue and the item in hand to the spool. Storing is idempotent (violation ids,
    camera events by camera, state and time), so an item both stored and spooled is stored once.

    >>> intake = RoutingIntake(dispatcher, stop, spool=Spool(Path("var/spool")))   # doctest: +SKIP
    >>> intake.submit(violation); intake.start()   # doctest: +SKIP
    """

    thread_name = "routing-intake"

    def __init__(self, dispatcher: Dispatcher, stop: threading.Event, backoff: Backoff | None = None,
                 spool: Spool | None = None):
        self._dispatcher = dispatcher
        self._stop = stop
        self._backoff = backoff or Backoff()
        self._spool = spool
        self._changed = threading.Condition()  # guards the fields below
        self._items: deque[IntakeItem] = deque()
        self._in_hand: IntakeItem | None = None
        self._spool_read = False
        self._replay_pending = False  # the spool file holds items read back but not yet all stored
        self._spooled = threading.Event()  # the rest went to the spool: the thread ends
        self._submitted: dict[str, float] = {}  # violation id -> monotonic time handed in, until stored
        self.stats = IntakeStats()

    def start(self) -> threading.Thread:
        """Queue what the spool holds (ahead of anything new; once, not on a restart), then run."""
        if self._spool is not None and not self._spool_read:
            self._spool_read = True
            replayed = self._spool.load()
            if replayed:
                log.info("replaying %d item(s) kept in %s when the last run stopped", len(replayed), self._spool.path)
                with self._changed:
                    self._items.extendleft(reversed(replayed))
                    self._replay_pending = True
                self.stats.replayed += len(replayed)
        return super().start()

    def use_dispatcher(self, dispatcher: Dispatcher) -> None:
        """Route the next items with `dispatcher` (a site reload: workers, shifts, limits changed).
        One reference replaced: the item being stored finishes with the one it started with."""
        self._dispatcher = dispatcher

    def submit(self, item: IntakeItem) -> None:
        if isinstance(item, Violation):
            # One line per violation received, with the id its incident will carry (scripts/chaos.py
            # checks each of them is exactly one incident and one alert).
            log.info("violation %s confirmed: camera %s zone %s kind %s",
                     item.id, item.camera_id, item.zone, item.kind)
        with self._changed:
            if isinstance(item, Violation):
                self._submitted[item.id] = time.monotonic()
            self._items.append(item)
            self._changed.notify()

    def pending(self) -> int:
        """Items queued or being stored."""
        with self._changed:
            return len(self._items) + (self._in_hand is not None)

    def run(self) -> None:
        with self._changed:  # a run that crashed mid-item (restarted by the supervisor) begins with it
            if self._in_hand is not None:
                self._items.appendleft(self._in_hand)
                self._in_hand = None
        # After stop, what is already queued is still written: detected incidents are never dropped.
        while not self._spooled.is_set():
            item = self._take()
            if item is not None:
                self._store_until_done(item)
                self._done()
            elif self._stop.is_set():
                return

    def spool_remaining(self) -> int:
        """Move the queue and the item in hand to the spool, for the next start; the thread ends.
        Returns how many items were spooled."""
        with self._changed:
            if self._spooled.is_set():
                return 0
            self._spooled.set()
            remaining = ([self._in_hand] if self._in_hand is not None else []) + list(self._items)
            self._items.clear()
            self._submitted.clear()
            self._changed.notify_all()
        if not remaining:
            return 0
        if self._spool is None:
            self._log_lost(remaining, "no spool")
            return 0
        if not self._spool_read:  # never started: what the file holds stays in it
            remaining = self._spool.load() + remaining
        try:
            # Replaces the file: items read back from it and not yet stored are among `remaining`.
            count = self._spool.save(remaining)
        except OSError as exc:
            self._log_lost(remaining, f"{self._spool.path} cannot be written: {describe(exc)}")
            return 0
        self.stats.spooled += count
        log.warning("stopping with the database unavailable: %d item(s) kept in %s for the next start",
                    count, self._spool.path)
        return count

    @staticmethod
    def _log_lost(items: list[IntakeItem], why: str) -> None:
        # The last place they can be read from: the log, in the spool's own format.
        log.error("stopping with %d item(s) unstored and nowhere to keep them (%s): %s", len(items), why,
                  " ".join(encode(item) for item in items))

    def _take(self) -> IntakeItem | None:
        with self._changed:
            if not self._items and not self._stop.is_set():
                self._changed.wait(0.2)
            if self._spooled.is_set() or not self._items:
                return None
            self._in_hand = self._items.popleft()
            return self._in_hand

    def _done(self) -> None:
        with self._changed:
            if isinstance(self._in_hand, Violation):  # stored or parked: no longer waiting
                self._submitted.pop(self._in_hand.id, None)
            self._in_hand = None
            if self._replay_pending and not self._items and not self._spooled.is_set():
                # Everything read back from the spool is stored (or parked): it is spent.
                self._replay_pending = False
                if self._spool is not None:
                    self._spool.clear()

    def _store_until_done(self, item: IntakeItem) -> None:
        while not self._spooled.is_set():
            try:
                with stage_cpu(Stage.STORAGE):
                    self._store(item)
                self._backoff.reset()
                return
            except Exception as exc:
                reason = refusal(exc)
                if reason is not None:
                    self._park(item, reason, exc)
                    return
                self.stats.write_retries += 1
                delay = self._backoff.next_delay()
                log.warning("camera %s: storing %s failed (%s); retrying in %.1f s",
                            item.camera_id, type(item).__name__, describe(exc), delay)
                # Waits even when stopping (giving up would lose an incident already detected),
                # until the item is spooled.
                self._spooled.wait(delay)

    def _park(self, item: IntakeItem, reason: str, exc: Exception) -> None:
        self.stats.parked += 1
        where = "nowhere (no spool): it is lost"
        if self._spool is not None:
            try:
                self._spool.park(item, reason)
                where = str(self._spool.parked_path)
            except OSError as write_error:
                where = f"nowhere ({describe(write_error)}): it is lost; as read: {encode(item)}"
        # A bug rather than a refused value: the traceback, to find it.
        exc_info = exc if not isinstance(exc, (SQLAlchemyError, ValueError)) else None
        log.error("%s cannot be stored and is parked in %s, the next items go on: %s",
                  item_label(item), where, reason, exc_info=exc_info)

    def _store(self, item: IntakeItem) -> None:
        if isinstance(item, HealthEvent):
            self._dispatcher.record_camera_event(item)
            self.stats.camera_events += 1
            return
        result = self._dispatcher.dispatch(item)
        with self._changed:
            submitted = self._submitted.get(item.id)
        if submitted is not None:
            self.stats.commit_latency.observe(time.monotonic() - submitted)
        self.stats.incidents += 1
        log.info("camera %s zone %s: %s incident %s -> grid %s, %s", item.camera_id, item.zone,
                 item.kind, result.incident_id, result.grid_id,
                 f"worker {result.worker_id}" if result.worker_id else "fallback queue (nobody on duty)")

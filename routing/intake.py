"""The routing stage's loop: takes violations and camera health events off a queue and stores them.

It runs on its own thread so a slow database never stalls inference; a failed write is retried
with capped backoff and never dropped, so no incident detected is lost while the database is away.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError

from detector.violation import Violation
from routing.dispatch import Dispatcher, DispatchResult
from streams.backoff import Backoff
from streams.health import HealthEvent
from streams.redact import describe
from streams.role import ThreadRole

log = logging.getLogger(__name__)

IntakeItem = Violation | HealthEvent


@dataclass
class IntakeStats:
    incidents: int = 0
    camera_events: int = 0
    write_retries: int = 0


class RoutingIntake(ThreadRole):
    """Owns the unit of work for each violation: one `Dispatcher.dispatch` call, retried until stored.

    >>> intake = RoutingIntake(dispatcher, stop)   # doctest: +SKIP
    >>> intake.submit(violation); intake.start()   # doctest: +SKIP
    """

    thread_name = "routing-intake"

    def __init__(self, dispatcher: Dispatcher, stop: threading.Event,
                 on_dispatched: Callable[[Violation, DispatchResult], None] | None = None,
                 backoff: Backoff | None = None):
        self._dispatcher = dispatcher
        self._stop = stop
        self._on_dispatched = on_dispatched
        self._backoff = backoff or Backoff()
        self._queue: queue.Queue[IntakeItem] = queue.Queue()
        self.stats = IntakeStats()

    def submit(self, item: IntakeItem) -> None:
        if isinstance(item, Violation):
            # One line per violation received, with the id its incident will carry (scripts/chaos.py
            # checks each of them is exactly one incident and one alert).
            log.info("violation %s confirmed: camera %s zone %s kind %s",
                     item.id, item.camera_id, item.zone, item.kind)
        self._queue.put(item)

    def pending(self) -> int:
        return self._queue.unfinished_tasks

    def run(self) -> None:
        # After stop, what is already queued is still written: detected incidents are never dropped.
        while not (self._stop.is_set() and self._queue.empty()):
            try:
                item = self._queue.get(timeout=0.2)
            except queue.Empty:
                continue
            try:
                self._store_until_done(item)
            finally:
                self._queue.task_done()

    def _store_until_done(self, item: IntakeItem) -> None:
        while True:
            try:
                self._store(item)
                self._backoff.reset()
                return
            except Exception as exc:
                self.stats.write_retries += 1
                delay = self._backoff.next_delay()
                # The database away is expected now and then: one line. Anything else: the traceback.
                report = log.warning if isinstance(exc, SQLAlchemyError) else log.exception
                report("camera %s: storing %s failed (%s); retrying in %.1f s",
                       item.camera_id, type(item).__name__, describe(exc), delay)
                # Waits even when stopping: giving up would lose an incident already detected.
                threading.Event().wait(delay)

    def _store(self, item: IntakeItem) -> None:
        if isinstance(item, HealthEvent):
            self._dispatcher.record_camera_event(item)
            self.stats.camera_events += 1
            return
        result = self._dispatcher.dispatch(item)
        self.stats.incidents += 1
        log.info("camera %s zone %s: %s incident %s -> grid %s, %s", item.camera_id, item.zone,
                 item.kind, result.incident_id, result.grid_id,
                 f"worker {result.worker_id}" if result.worker_id else "fallback queue (nobody on duty)")
        if self._on_dispatched is not None:
            self._on_dispatched(item, result)

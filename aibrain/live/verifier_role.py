"""Verification wiring: starts the detector's looks for resolved incidents of this node's cameras
and records the verdicts in the incident store. The one role that talks to both stages."""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Collection
from datetime import datetime

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from common.clock import utc_now
from common.redact import describe
from common.role import ThreadRole
from detector.presence import PresenceResult, Verifier
from routing.incidents.closed_loop import ClosedLoop
from routing.incidents.tables import Incident
from routing.incidents.verification import VerificationPolicy, checks_due, presence_check, record_verdict

log = logging.getLogger(__name__)


class VerificationCoordinator(ThreadRole):
    """Own thread: every `poll_s` (or at once after `kick()`), records verdicts the inference loop
    handed on and starts looks for incidents that need one. A verdict is dropped from memory only
    once its effect is committed, so a database outage delays verification, never loses it.

    >>> coordinator = VerificationCoordinator(sessions, loop, verifier, ["cam-01"], policy, stop)  # doctest: +SKIP
    >>> InferenceLoop(..., verifier=verifier, on_verdict=coordinator.on_verdict)                  # doctest: +SKIP
    """

    thread_name = "verification"

    def __init__(self, session_factory: sessionmaker[Session], loop: ClosedLoop, verifier: Verifier,
                 camera_ids: Collection[str], policy: VerificationPolicy, stop: threading.Event, *,
                 clock: Callable[[], datetime] = utc_now, poll_s: float = 5.0,
                 wake: Callable[[], None] | None = None) -> None:
        self._sessions = session_factory
        self._loop = loop
        self._verifier = verifier
        self._camera_ids = tuple(camera_ids)
        self._policy = policy
        self._stop = stop
        self._clock = clock
        self._poll_s = poll_s
        self._wake_relay = wake
        self._kick = threading.Event()
        self._verdicts: deque[PresenceResult] = deque()
        self._looking: set[str] = set()  # incidents with a look started and its verdict not yet stored
        self.recorded = 0

    def use(self, camera_ids: Collection[str], policy: VerificationPolicy) -> None:
        """Look on these cameras, under this policy, from the next round on (a site reload)."""
        self._camera_ids, self._policy = tuple(camera_ids), policy

    def kick(self, *_: object) -> None:
        """Look now (an incident was resolved); takes any arguments, to serve as a callback."""
        self._kick.set()

    def on_verdict(self, result: PresenceResult) -> None:
        """Called by the inference loop's thread."""
        self._verdicts.append(result)
        self._kick.set()

    def run(self) -> None:
        while not self._stop.is_set():
            self._kick.wait(self._poll_s)
            self._kick.clear()
            try:
                self.record_verdicts()
                self.start_due_looks()
            except SQLAlchemyError as exc:
                log.warning("verification: database unavailable (%s); trying again in %.0f s",
                            describe(exc), self._poll_s)

    def record_verdicts(self) -> None:
        while self._verdicts:
            result = self._verdicts[0]
            with self._sessions() as session, session.begin():
                incident = session.get(Incident, result.check_id, with_for_update=True)
                status = (record_verdict(session, self._loop, incident, result, self._policy, self._clock())
                          if incident is not None else None)
            self._verdicts.popleft()
            self._looking.discard(result.check_id)
            self.recorded += 1
            log.info("incident %s: verification %s (%s) -> %s", result.check_id, result.verdict.value,
                     result.describe(), status.value if status else "unknown incident")
            if self._wake_relay is not None:
                self._wake_relay()

    def start_due_looks(self) -> None:
        now = self._clock()
        with self._sessions() as session:
            due = [incident for incident in checks_due(session, self._camera_ids, now)
                   if incident.id not in self._looking]
            checks = [presence_check(incident, self._policy, now) for incident in due]
        for check in checks:
            if self._verifier.submit(check):
                self._looking.add(check.check_id)
                log.info("incident %s: camera %s looks again", check.check_id, check.camera_id)

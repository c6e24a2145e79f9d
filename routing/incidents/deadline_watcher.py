"""The deadline watcher: incidents nobody accepted or resolved in time escalate to the next level."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from common.clock import utc_now
from common.redact import describe
from common.role import ThreadRole
from routing.incidents.closed_loop import ClosedLoop
from routing.incidents.tables import Incident, IncidentStatus

log = logging.getLogger(__name__)


def overdue_clause(now: datetime, max_level: int) -> ColumnElement[bool]:
    """Open incidents past their due time (accept for dispatched / reopened, resolve for accepted)
    that still have a level to escalate to."""
    return and_(
        Incident.escalation_level < max_level,
        or_(and_(Incident.status.in_([IncidentStatus.DISPATCHED, IncidentStatus.REOPENED]),
                 Incident.accept_due <= now),
            and_(Incident.status == IncidentStatus.ACCEPTED, Incident.resolve_due <= now)),
    )


def missed_limit(incident: Incident) -> str:
    due = incident.resolve_due if incident.status is IncidentStatus.ACCEPTED else incident.accept_due
    which = "resolve" if incident.status is IncidentStatus.ACCEPTED else "accept"
    return f"{which} limit missed (due {due.isoformat() if due else '?'})"


class DeadlineWatcher(ThreadRole):
    """Every `every_s`, escalates each overdue incident once per missed limit.

    Time is `clock()`: the wall clock when live, a driven clock in tests and replays. Each
    escalation is its own transaction, taken under a row lock (SKIP LOCKED on PostgreSQL) and
    re-checked inside it, so watchers on several nodes never escalate one miss twice.

    >>> watcher = DeadlineWatcher(sessions, closed_loop, stop, wake=relay.wake)  # doctest: +SKIP
    >>> watcher.start()  # doctest: +SKIP
    """

    thread_name = "deadline-watcher"

    def __init__(self, session_factory: sessionmaker[Session], loop: ClosedLoop, stop: threading.Event, *,
                 clock: Callable[[], datetime] = utc_now, every_s: float = 5.0,
                 wake: Callable[[], None] | None = None) -> None:
        self._sessions = session_factory
        self._loop = loop
        self._stop = stop
        self._clock = clock
        self._every_s = every_s
        self._wake = wake
        self.escalations = 0

    def run(self) -> None:
        while not self._stop.wait(self._every_s):
            try:
                self.check_once()
            except SQLAlchemyError as exc:  # database away: the next round tries again
                log.warning("deadline watcher: database unavailable (%s)", describe(exc))

    def check_once(self) -> int:
        """Escalate what is overdue now; returns how many escalations were made."""
        now = self._clock()
        overdue = overdue_clause(now, self._loop.chains.longest())
        with self._sessions() as session:
            candidates = list(session.scalars(select(Incident.id).where(overdue)))
        made = 0
        for incident_id in candidates:
            with self._sessions() as session, session.begin():
                incident = session.scalars(select(Incident).where(Incident.id == incident_id, overdue)
                                           .with_for_update(skip_locked=True)).one_or_none()
                if incident is None:
                    continue  # acted on meanwhile, or another node holds it
                reason = missed_limit(incident)
                target = self._loop.escalate(session, incident, reason, now)
            if target is not None:
                made += 1
                log.warning("incident %s: %s; escalated to %s", incident_id, reason, target)
        if made:
            self.escalations += made
            if self._wake is not None:
                self._wake()
        return made

"""Requests for more time (延期申请): a grid worker asks from the street, a leader or the command centre
approves (the deadline moves, as the centre's own extension does, with the approver as actor) or
refuses. Each step is an audit row of the incident and an update to the worker's queue, inside the
caller's transaction; one request at a time waits per incident. A reassignment lets the one waiting
lapse: the new worker asks for themselves, and nobody grants the old one's time to them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, Select, SQLColumnExpression, select
from sqlalchemy.orm import Session

from routing.incidents.closed_loop import ClosedLoop
from routing.incidents.field_tables import ExtensionRequest, RequestStatus
from routing.incidents.interventions import (
    NOTE_MAX,
    InterventionRefused,
    Interventions,
    check_minutes,
    note_text,
    reason_text,
)
from routing.incidents.lifecycle import OPEN_STATUSES, next_status
from routing.incidents.tables import Incident, IncidentAction, IncidentEvent


def reassignments_since(incident_id: SQLColumnExpression[str] | str,
                        since: SQLColumnExpression[datetime] | datetime) -> Select[datetime]:
    """When `incident_id` was reassigned at or after `since`: a request made before that was another
    worker's case (or the same worker's before it left them), so it lapses, undecided."""
    return select(IncidentEvent.at).where(IncidentEvent.incident_id == incident_id,
                                          IncidentEvent.action == IncidentAction.REASSIGN,
                                          IncidentEvent.at >= since)


def waiting() -> ColumnElement[bool]:
    """The condition on ExtensionRequest joined with its Incident for a request still waiting for a
    decision: pending, the incident open, and not reassigned since it was asked (a lapsed request
    stays `pending` in its row, but nobody can decide it and it blocks no new one)."""
    return (ExtensionRequest.status == RequestStatus.PENDING) & Incident.status.in_(OPEN_STATUSES) \
        & ~reassignments_since(ExtensionRequest.incident_id, ExtensionRequest.at).exists()


def pending_request(session: Session, incident_id: str) -> ExtensionRequest | None:
    """The request of `incident_id` waiting for a decision, if any (see `waiting`)."""
    return session.scalars(select(ExtensionRequest).join(Incident, Incident.id == ExtensionRequest.incident_id)
                           .where(ExtensionRequest.incident_id == incident_id, waiting())
                           .order_by(ExtensionRequest.id.desc()).limit(1)).first()


class ExtensionRequests:
    """Raises TransitionRefused where the incident's status forbids the step (it is closed), and
    InterventionRefused where the request is wrong; nothing here commits.

    >>> requests = ExtensionRequests(loop, interventions)  # doctest: +SKIP
    >>> with sessions() as s, s.begin():  # doctest: +SKIP
    ...     asked = requests.request(s, incident, "w-001", "user:wang", now, 120, "店主不在，明早处理")
    ...     requests.approve(s, incident, asked.id, "user:li", now)
    """

    def __init__(self, loop: ClosedLoop, interventions: Interventions) -> None:
        self._loop = loop
        self._interventions = interventions

    def request(self, session: Session, incident: Incident, worker_id: str, actor: str, at: datetime,
                minutes: float, reason: str) -> ExtensionRequest:
        next_status(incident.status, IncidentAction.REQUEST_EXTENSION)  # an open incident only
        if worker_id != incident.worker_id:
            raise InterventionRefused(f"incident {incident.id} is with {incident.worker_id or 'nobody'}, "
                                      f"not {worker_id}")
        said = reason_text(reason, "an extension request")
        check_minutes(minutes)
        if pending_request(session, incident.id) is not None:
            raise InterventionRefused(f"incident {incident.id} has a request for more time waiting already")
        asked = ExtensionRequest(incident_id=incident.id, worker_id=worker_id, requested_by=actor.removeprefix("user:"),
                                 minutes=minutes, reason=said, at=at, status=RequestStatus.PENDING)
        session.add(asked)
        self._loop.act(session, incident, IncidentAction.REQUEST_EXTENSION, actor, at, f"{minutes:g} min: {said}")
        session.flush()  # the id, for the caller's answer
        return asked

    def approve(self, session: Session, incident: Incident, request_id: int, actor: str, at: datetime,
                minutes: float | None = None, note: str | None = None) -> ExtensionRequest:
        """Extend by the minutes asked (or `minutes`, the approver's own figure)."""
        asked = self._pending(session, incident, request_id)
        granted = check_minutes(minutes if minutes is not None else asked.minutes)
        said = note_text(note, "an approval")
        # The worker's reason is on the request's own audit row; this one must fit an extension's reason.
        granted_other = f", granted {granted:g} min" if granted != asked.minutes else ""
        reason = f"approved the request of {asked.worker_id} ({asked.minutes:g} min{granted_other})"
        reason = f"{reason}: {said}" if said else reason
        if len(reason) > NOTE_MAX:
            reason = reason[:NOTE_MAX - 1] + "…"
        self._interventions.extend(session, incident, granted, reason, actor, at)
        return self._decide(asked, RequestStatus.APPROVED, actor, at, said)

    def refuse(self, session: Session, incident: Incident, request_id: int, actor: str, at: datetime,
               note: str) -> ExtensionRequest:
        asked = self._pending(session, incident, request_id)
        said = reason_text(note, "a refusal")
        self._loop.act(session, incident, IncidentAction.REFUSE_EXTENSION, actor, at,
                       f"refused the request of {asked.worker_id} ({asked.minutes:g} min): {said}")
        return self._decide(asked, RequestStatus.REFUSED, actor, at, said)

    def _pending(self, session: Session, incident: Incident, request_id: int) -> ExtensionRequest:
        # Locked and read afresh: a copy loaded before another approver committed must not decide again.
        asked = session.get(ExtensionRequest, request_id, with_for_update=True, populate_existing=True)
        if asked is None or asked.incident_id != incident.id:
            raise InterventionRefused(f"incident {incident.id} has no request {request_id}")
        if asked.status is not RequestStatus.PENDING:
            raise InterventionRefused(f"the request was {asked.status.value} already")
        moved = session.scalars(reassignments_since(incident.id, asked.at).order_by(IncidentEvent.at).limit(1)).first()
        if moved is not None:
            when = moved.astimezone(self._loop.tz).isoformat(timespec="minutes")
            raise InterventionRefused(f"the request of {asked.worker_id} lapsed: the incident was reassigned at "
                                      f"{when}, after it was made; it is now with {incident.worker_id or 'nobody'}")
        return asked

    @staticmethod
    def _decide(asked: ExtensionRequest, status: RequestStatus, actor: str, at: datetime,
                note: str | None) -> ExtensionRequest:
        asked.status, asked.decided_by, asked.decided_at, asked.decision_note = status, actor, at, note
        return asked

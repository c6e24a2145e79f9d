"""Requests for more time (延期申请): a grid worker asks from the street, a leader or the command centre
approves (the deadline moves, as the centre's own extension does, with the approver as actor) or
refuses. Each step is an audit row of the incident and an update to the worker's queue, inside the
caller's transaction; one request at a time is pending per incident."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from routing.incidents.closed_loop import ClosedLoop
from routing.incidents.field_tables import ExtensionRequest, RequestStatus
from routing.incidents.interventions import (
    InterventionRefused,
    Interventions,
    check_minutes,
    note_text,
    reason_text,
)
from routing.incidents.lifecycle import next_status
from routing.incidents.tables import Incident, IncidentAction


def pending_request(session: Session, incident_id: str) -> ExtensionRequest | None:
    return session.scalars(select(ExtensionRequest).where(ExtensionRequest.incident_id == incident_id,
                                                          ExtensionRequest.status == RequestStatus.PENDING)
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
        reason = f"approved the request of {asked.worker_id} ({asked.minutes:g} min: {asked.reason})"
        self._interventions.extend(session, incident, granted, f"{reason}; {said}" if said else reason, actor, at)
        return self._decide(asked, RequestStatus.APPROVED, actor, at, said)

    def refuse(self, session: Session, incident: Incident, request_id: int, actor: str, at: datetime,
               note: str) -> ExtensionRequest:
        asked = self._pending(session, incident, request_id)
        said = reason_text(note, "a refusal")
        self._loop.act(session, incident, IncidentAction.REFUSE_EXTENSION, actor, at,
                       f"refused the request of {asked.worker_id} ({asked.minutes:g} min): {said}")
        return self._decide(asked, RequestStatus.REFUSED, actor, at, said)

    def _pending(self, session: Session, incident: Incident, request_id: int) -> ExtensionRequest:
        asked = session.get(ExtensionRequest, request_id, with_for_update=True)
        if asked is None or asked.incident_id != incident.id:
            raise InterventionRefused(f"incident {incident.id} has no request {request_id}")
        if asked.status is not RequestStatus.PENDING:
            raise InterventionRefused(f"the request was {asked.status.value} already")
        if asked.worker_id != incident.worker_id:
            raise InterventionRefused(f"the request came from {asked.worker_id}; the incident is now with "
                                      f"{incident.worker_id or 'nobody'}")
        return asked

    @staticmethod
    def _decide(asked: ExtensionRequest, status: RequestStatus, actor: str, at: datetime,
                note: str | None) -> ExtensionRequest:
        asked.status, asked.decided_by, asked.decided_at, asked.decision_note = status, actor, at, note
        return asked

"""Closed-loop actions on incidents, inside the caller's transaction: the transition and its audit
row, the incident's due times, deadlines, worker and escalation level, and the outbox messages
announcing it."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from routing.broker.topology import Topology
from routing.incidents import store
from routing.incidents.deadlines import DueLimits
from routing.incidents.escalation import EscalationChains
from routing.incidents.lifecycle import OPEN_STATUSES, next_status
from routing.incidents.tables import Incident, IncidentAction, IncidentStatus, MessageType
from routing.messages.alert import DueBy
from routing.messages.update import IncidentUpdate

Action = IncidentAction


def deadline_in_force(incident: Incident) -> tuple[Literal["accept", "resolve"], datetime | None]:
    """The deadline an open incident runs against, and when it falls: accept until accepted, then resolve."""
    if incident.status is IncidentStatus.ACCEPTED:
        return "resolve", incident.resolve_by
    return "accept", incident.accept_by


class ClosedLoop:
    """Moves incidents through the closed loop and tells the people concerned.

    Each change goes to the incident's worker (or the fallback queue) as an incident update; the
    command centre sees every one. An escalation goes to the next target of the grid's chain; a
    reopened incident is told to the worker and escalated one level; a reassignment is told to the
    worker who had it. Nothing here commits: the caller's unit of work holds the change and its
    messages together.

    >>> loop = ClosedLoop(topology, limits, chains, ZoneInfo("Asia/Shanghai"))  # doctest: +SKIP
    >>> with sessions() as s, s.begin():                                      # doctest: +SKIP
    ...     loop.act(s, s.get(Incident, incident_id), IncidentAction.ACCEPT, "w-001", now)
    """

    def __init__(self, topology: Topology, limits: DueLimits, chains: EscalationChains, tz: ZoneInfo,
                 new_id: Callable[[], str] = lambda: str(uuid.uuid4())) -> None:
        self.topology, self.limits, self.chains, self.tz = topology, limits, chains, tz
        self._new_id = new_id

    def act(self, session: Session, incident: Incident, action: IncidentAction, actor: str, at: datetime,
            note: str | None = None) -> IncidentStatus:
        """Apply `action` (raises TransitionRefused where the state machine forbids it). A reassignment
        and an extension need more than this: `reassign` and `extend`."""
        before = incident.status
        incident.status = next_status(before, action)
        store.add_transition(session, incident.id, action, before, incident.status, actor, at, note)
        if action is Action.RESOLVE:
            incident.resolved_at = at
        if action is Action.REOPEN:
            # A reopened incident starts its clock again: accept and resolve counted from `at`.
            incident.accept_due, incident.resolve_due = self.limits.due(incident.kind, at)
        self._announce(session, incident, action, before, actor, at, note, escalated_to=None)
        if action is Action.REOPEN:
            self.escalate(session, incident, f"reopened: {note}" if note else "reopened", at, actor)
        return incident.status

    def reassign(self, session: Session, incident: Incident, worker_id: str, actor: str, at: datetime,
                 note: str) -> IncidentStatus:
        """Hand the incident to `worker_id`, its escalation clock restarted from `at` (the promised
        deadlines stay). The update goes to the worker who had it, so their client closes it there;
        the new worker's alert is the caller's to queue, after this."""
        before, previous = incident.status, incident.worker_id
        incident.status = next_status(before, Action.REASSIGN)
        incident.worker_id = worker_id
        incident.accept_due, incident.resolve_due = self.limits.due(incident.kind, at)
        store.add_transition(session, incident.id, Action.REASSIGN, before, incident.status, actor, at, note,
                             from_worker_id=previous)
        self._announce(session, incident, Action.REASSIGN, before, actor, at, note, escalated_to=None,
                       routing_key=self.topology.routing_key(previous))
        return incident.status

    def extend(self, session: Session, incident: Incident, by: timedelta, actor: str, at: datetime,
               note: str) -> None:
        """Move the deadline in force (see `deadline_in_force`) and its escalation clock later by `by`."""
        before = incident.status
        incident.status = next_status(before, Action.EXTEND)
        if incident.status is IncidentStatus.ACCEPTED:
            incident.resolve_by = _later(incident.resolve_by, by)
            incident.resolve_due = _later(incident.resolve_due, by)
        else:
            incident.accept_by = _later(incident.accept_by, by)
            incident.accept_due = _later(incident.accept_due, by)
        store.add_transition(session, incident.id, Action.EXTEND, before, incident.status, actor, at, note)
        self._announce(session, incident, Action.EXTEND, before, actor, at, note, escalated_to=None)

    def escalate(self, session: Session, incident: Incident, reason: str, at: datetime,
                 actor: str = "deadline-watcher") -> str | None:
        """Tell the next level of the grid's chain; None (nothing done) once the chain is spent.

        The missed deadline moves on by its own length, so a further miss escalates again. Only an
        open incident escalates (TransitionRefused otherwise: a false alarm or a verified one never does).
        """
        next_status(incident.status, Action.ESCALATE)
        target = self.chains.next_target(incident.grid_id, incident.escalation_level)
        if target is None:
            return None
        incident.escalation_level += 1
        accept_due, resolve_due = self.limits.due(incident.kind, at)
        if incident.status is IncidentStatus.ACCEPTED:
            incident.resolve_due = resolve_due
        else:
            incident.accept_due = accept_due
        note = f"{reason}; escalated to {target} (level {incident.escalation_level})"
        store.add_transition(session, incident.id, Action.ESCALATE, incident.status, incident.status, actor, at,
                             note)
        self._announce(session, incident, Action.ESCALATE, incident.status, actor, at, note, escalated_to=target)
        return target

    def _announce(self, session: Session, incident: Incident, action: IncidentAction,
                  before: IncidentStatus | None, actor: str, at: datetime, note: str | None,
                  escalated_to: str | None, routing_key: str | None = None) -> None:
        """Queue the update for the escalation target, else `routing_key`, else the incident's worker."""
        update_id = self._new_id()
        local = self.tz
        due_by = None
        if incident.status in OPEN_STATUSES and incident.accept_due and incident.resolve_due:
            due_by = DueBy(accept=incident.accept_due.astimezone(local),
                           resolve=incident.resolve_due.astimezone(local))
        update = IncidentUpdate(
            update_id=update_id, incident_id=incident.id, action=action, from_status=before,
            status=incident.status, actor=actor, at=at.astimezone(local), note=note,
            kind=incident.kind, kind_label_zh=incident.kind_label, grid_id=incident.grid_id,
            worker_id=incident.worker_id, camera_id=incident.camera_id, camera_name=incident.camera_name,
            zone=incident.zone, snapshot=incident.snapshot, escalation_level=incident.escalation_level,
            escalated_to=escalated_to, due_by=due_by)
        if escalated_to:
            routing_key = self.topology.escalation_routing_key(escalated_to)
        elif routing_key is None:
            routing_key = self.topology.routing_key(incident.worker_id)
        store.add_outbox_message(
            session, message_id=update_id, exchange=self.topology.exchange, routing_key=routing_key,
            body=update.to_json(), created_at=at, message_type=MessageType.INCIDENT_UPDATE,
            headers={"schema_version": update.schema_version, "kind": incident.kind,
                     "incident_id": incident.id, "action": action.value})


def _later(when: datetime | None, by: timedelta) -> datetime | None:
    return when + by if when is not None else None

"""The command centre's actions on one incident: hand it to another worker, extend its deadline,
close it as a false alarm, escalate it by hand. Each checks what the person asked, then moves the
incident through the closed loop (state, audit row, outbox), inside the caller's transaction."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from routing.assign.roster import Roster, Worker
from routing.incidents.closed_loop import ClosedLoop, deadline_in_force
from routing.incidents.dispatch import AlertBuilder, queue_alert
from routing.incidents.false_alarms import FALSE_ALARM_LABELS, FalseAlarmReason
from routing.incidents.tables import Incident, IncidentAction

MAX_EXTENSION = timedelta(days=30)
NOTE_MAX = 2000  # characters, as a worker's note may have (routing.messages.feedback)


class InterventionRefused(ValueError):
    """What a person asked cannot be done as asked; the message says why, to show them."""


class Interventions:
    """Command-centre actions; `actor` names the person (`user:<username>` from the web).

    Each raises TransitionRefused where the incident's status forbids the action, and
    InterventionRefused where the request itself is wrong; either way nothing is written. Nothing
    here commits: the caller's unit of work holds the change and its messages together.

    reassign: the incident goes to another worker of the roster (whoever the person chooses: on
    duty or called in). The worker who had it is told by an incident update, which closes it in
    their client; the new one gets a full alert (a fresh message id, due from now) and must accept
    again, so an accepted incident goes back to dispatched. The promised deadlines (accept_by,
    resolve_by) stay: a reassignment is the centre's own step, not a reason to be late.
    extend: the deadline in force (accept until accepted, then resolve) and its escalation clock
    move later; the note keeps the reason and both deadlines, the actor is the approver.

    >>> interventions = Interventions(loop, roster, dispatcher.alerts)  # doctest: +SKIP
    >>> with sessions() as s, s.begin():  # doctest: +SKIP
    ...     interventions.reassign(s, s.get(Incident, incident_id), "w-002", "user:wang", now, "张三 is ill")
    """

    def __init__(self, loop: ClosedLoop, roster: Roster, alerts: AlertBuilder,
                 new_id: Callable[[], str] = lambda: str(uuid.uuid4())) -> None:
        self._loop = loop
        self._workers = {worker.id: worker for worker in roster.workers}
        self._alerts = alerts
        self._new_id = new_id

    def reassign(self, session: Session, incident: Incident, worker_id: str, actor: str, at: datetime,
                 note: str | None = None) -> None:
        worker = self._worker(worker_id)
        if worker.id == incident.worker_id:
            raise InterventionRefused(f"incident {incident.id} is assigned to {worker.id} already")
        step = f"from {incident.worker_id or 'the fallback queue'} to {worker.id} ({worker.name})"
        said = note_text(note, "a reassignment")
        self._loop.reassign(session, incident, worker.id, actor, at, f"{step}: {said}" if said else step)
        queue_alert(session, self._loop.topology, self._alerts.build(incident, self._new_id(), worker), at)

    def extend(self, session: Session, incident: Incident, minutes: float, reason: str, actor: str,
               at: datetime) -> None:
        check_minutes(minutes)
        reason = reason_text(reason, "an extension")
        which, deadline = deadline_in_force(incident)
        if deadline is None:
            raise InterventionRefused(f"incident {incident.id} has no {which} deadline to extend")
        by = timedelta(minutes=minutes)
        local = self._loop.tz
        note = (f"{reason}; {which} by {deadline.astimezone(local).isoformat(timespec='minutes')} -> "
                f"{(deadline + by).astimezone(local).isoformat(timespec='minutes')}")
        self._loop.extend(session, incident, by, actor, at, note)

    def false_alarm(self, session: Session, incident: Incident, reason: str, actor: str, at: datetime,
                    code: FalseAlarmReason | str = FalseAlarmReason.OTHER) -> None:
        """Close as a false alarm for `code` (the form's reason select), `reason` the person's words: required
        for OTHER, which is what a form without the select (words only) stands for."""
        close_as_false_alarm(self._loop, session, incident, code, reason, actor, at)

    def escalate(self, session: Session, incident: Incident, reason: str, actor: str, at: datetime) -> str | None:
        """The target told; None (nothing done) once the grid's chain is spent."""
        return self._loop.escalate(session, incident, reason_text(reason, "an escalation"), at, actor)

    def _worker(self, worker_id: str) -> Worker:
        worker = self._workers.get(worker_id)
        if worker is None:
            raise InterventionRefused(f"no worker {worker_id!r} in the roster")
        return worker


def false_alarm_reason(reason: str) -> FalseAlarmReason:
    """`reason` as a FalseAlarmReason (a form sends its code); refused when it is none of them."""
    try:
        return FalseAlarmReason(reason)
    except ValueError:
        codes = ", ".join(FalseAlarmReason)
        raise InterventionRefused(f"no reason {reason!r} for a false alarm: one of {codes}") from None


def close_as_false_alarm(loop: ClosedLoop, session: Session, incident: Incident, reason: FalseAlarmReason | str,
                         text: str | None, actor: str, at: datetime) -> None:
    """Close as a false alarm (a worker's or the centre's), the reason's code kept on the incident; the note
    keeps the reason's label and the person's words, which OTHER requires."""
    reason = false_alarm_reason(reason)
    what = "a false alarm"
    said = reason_text(text, what) if reason is FalseAlarmReason.OTHER else note_text(text, what)
    label = f"{FALSE_ALARM_LABELS[reason]} ({reason.value})"
    loop.act(session, incident, IncidentAction.FALSE_ALARM, actor, at, f"{label}: {said}" if said else label)
    incident.false_alarm_reason = reason.value


def check_minutes(minutes: float) -> float:
    """`minutes` when it is a length an extension may have (a request's too); refused otherwise."""
    if not 0 < minutes <= MAX_EXTENSION.total_seconds() / 60:  # NaN fails too
        raise InterventionRefused(f"an extension must be more than 0 and at most {MAX_EXTENSION.days} days, "
                                  f"not {minutes:g} minutes")
    return minutes


def note_text(text: str | None, what: str) -> str | None:
    """The text trimmed, None when blank; refused when longer than NOTE_MAX (the worker's app uses it too)."""
    text = (text or "").strip()
    if len(text) > NOTE_MAX:
        raise InterventionRefused(f"the reason for {what} may have at most {NOTE_MAX} characters, not {len(text)}")
    return text or None


def reason_text(reason: str | None, what: str) -> str:
    """The reason, trimmed; refused when blank, since the audit must say why."""
    said = note_text(reason, what)
    if said is None:
        raise InterventionRefused(f"{what} needs a reason")
    return said

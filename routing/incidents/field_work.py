"""A grid worker's own actions on their incidents, as the phone app sends them: accept, resolve with
photos of the result, close as a false alarm (误报) with a reason. Each moves the incident through the
closed loop as the worker's feedback message does (state, audit row, outbox update), inside the
caller's transaction; an action sent twice (an idempotency key seen before) is acknowledged without
effect, and one that no longer applies (the incident was reassigned or closed meanwhile) says why."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from routing.incidents import store
from routing.incidents.closed_loop import ClosedLoop
from routing.incidents.false_alarms import FALSE_ALARM_LABELS as FALSE_ALARM_LABELS
from routing.incidents.false_alarms import FalseAlarmReason as FalseAlarmReason
from routing.incidents.field_tables import IncidentPhoto
from routing.incidents.interventions import InterventionRefused, close_as_false_alarm, note_text
from routing.incidents.lifecycle import already_done
from routing.incidents.tables import Incident, IncidentAction, IncidentEvent

MAX_PHOTOS = 3
IDEMPOTENCY_CONSUMER = "web"  # processed_messages.consumer of the app's actions
_KEY = re.compile(r"[A-Za-z0-9_-]{8,64}")


class ReassignedAway(ValueError):
    """The incident was this worker's and has been handed to another since: the action no longer applies."""

    def __init__(self, incident_id: str, at: datetime) -> None:
        super().__init__(f"incident {incident_id} was reassigned to another worker at {at.isoformat()}")
        self.incident_id, self.at = incident_id, at


@dataclass(frozen=True)
class StoredPhoto:
    """A photo already written (re-encoded) beside the evidence; `path` as the database keeps it."""

    path: str
    size_bytes: int
    width: int
    height: int
    sha256: str


def idempotency_id(username: str, key: str) -> str:
    """The processed_messages id of one person's action key: their keys never meet another's.

    >>> idempotency_id("wang", "3f1c2a9e-0000-4000-8000-000000000001")[:4]
    'web:'
    """
    if not _KEY.fullmatch(key):
        raise InterventionRefused("an idempotency key has 8-64 letters, digits, '-' and '_'")
    return "web:" + hashlib.sha256(f"{username}\n{key}".encode()).hexdigest()[:56]


def first_time(session: Session, username: str, key: str, at: datetime) -> bool:
    """Record the action's key in the caller's transaction; False when it was applied before (apply nothing).

    Lock the incident's row first (`session.get(Incident, id, with_for_update=True)`): a copy sent again
    while the first is still being applied then waits for it and sees its key, where it would otherwise
    fail on the key's primary key at commit."""
    return store.mark_processed(session, idempotency_id(username, key), IDEMPOTENCY_CONSUMER, at)


def reassigned_from(session: Session, incident_id: str, worker_id: str) -> IncidentEvent | None:
    """The latest reassignment that took `incident_id` away from `worker_id`, if any."""
    return session.scalars(select(IncidentEvent)
                           .where(IncidentEvent.incident_id == incident_id,
                                  IncidentEvent.action == IncidentAction.REASSIGN,
                                  IncidentEvent.from_worker_id == worker_id)
                           .order_by(IncidentEvent.id.desc()).limit(1)).first()


def check_assignee(session: Session, incident: Incident, worker_id: str) -> bool:
    """True when the incident is `worker_id`'s; raises ReassignedAway when it was theirs once; False when
    it never was (the caller answers "not found": a worker learns nothing of another's incidents)."""
    if incident.worker_id == worker_id:
        return True
    moved = reassigned_from(session, incident.id, worker_id)
    if moved is not None:
        raise ReassignedAway(incident.id, moved.at)
    return False


class FieldWork:
    """The worker's actions; `actor` names the person (`user:<username>`). Each raises TransitionRefused
    where the incident's status forbids it and InterventionRefused where the request is wrong; nothing
    here commits. The caller checks the incident is the worker's (`check_assignee`) and the key
    (`first_time`) in the same transaction.

    >>> field = FieldWork(loop)  # doctest: +SKIP
    >>> with sessions() as s, s.begin():  # doctest: +SKIP
    ...     if first_time(s, "wang", key, now):
    ...         field.resolve(s, s.get(Incident, incident_id), "user:wang", "w-001", now, "已清理", photos)
    """

    def __init__(self, loop: ClosedLoop) -> None:
        self._loop = loop

    def accept(self, session: Session, incident: Incident, actor: str, at: datetime) -> bool:
        """False when it was accepted already (pressed twice): nothing changes."""
        if already_done(incident.status, IncidentAction.ACCEPT):
            return False
        self._loop.act(session, incident, IncidentAction.ACCEPT, actor, at)
        return True

    def resolve(self, session: Session, incident: Incident, actor: str, worker_id: str | None, at: datetime,
                note: str | None, photos: Sequence[StoredPhoto]) -> bool:
        """Resolve with the photos of the result; False (nothing stored) when it was resolved already."""
        if len(photos) > MAX_PHOTOS:
            raise InterventionRefused(f"at most {MAX_PHOTOS} photos, not {len(photos)}")
        if already_done(incident.status, IncidentAction.RESOLVE):
            return False
        self._loop.act(session, incident, IncidentAction.RESOLVE, actor, at, note_text(note, "a resolve"))
        for photo in photos:
            session.add(IncidentPhoto(incident_id=incident.id, path=photo.path, sent_by=actor.removeprefix("user:"),
                                      worker_id=worker_id, at=at, size_bytes=photo.size_bytes, width=photo.width,
                                      height=photo.height, sha256=photo.sha256))
        return True

    def false_alarm(self, session: Session, incident: Incident, actor: str, at: datetime,
                    reason: FalseAlarmReason | str, text: str | None) -> None:
        """Close as a false alarm; the incident keeps the reason's code, the note its label and the worker's
        words. `reason` may be the form's code (refused when it is none)."""
        close_as_false_alarm(self._loop, session, incident, reason, text, actor, at)

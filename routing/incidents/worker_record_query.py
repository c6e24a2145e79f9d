"""What a grid worker's own record (我的记录) needs beside their assessment row: their incidents of a
period, each with its outcome, and how many of them are still open.

The population is the assessment's (`routing.incidents.assessment`): incidents whose `created_at`
(dispatch time) lies in [start, end), counted for the incident's *current* worker — after a
reassignment the incident is the new worker's, in their record and no longer in the previous one's.
An incident's verdict is the assessment's too: on time when its first RESOLVE met `resolve_by`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from routing.incidents.assessment_tally import on_time
from routing.incidents.lifecycle import OPEN_STATUSES
from routing.incidents.tables import Incident, IncidentAction, IncidentEvent, IncidentStatus


@dataclass(frozen=True, slots=True)
class RecordEntry:
    """One incident of the worker's history and how it went."""

    id: str
    kind: str
    kind_label: str
    camera_name: str
    zone: str
    status: IncidentStatus
    created_at: datetime
    confirmed_at: datetime
    resolve_by: datetime | None
    first_resolve: datetime | None

    def on_time(self, now: datetime) -> bool | None:
        """The assessment's 按期处置 verdict: None for a false alarm (not assessed), for no deadline, and
        while it is unresolved and not yet due."""
        if self.status is IncidentStatus.FALSE_ALARM:
            return None
        return on_time(self.first_resolve, self.resolve_by, now)


def _population(worker_id: str, start: datetime, end: datetime) -> list[ColumnElement[bool]]:
    return [Incident.worker_id == worker_id, Incident.created_at >= start, Incident.created_at < end]


def worker_history(session: Session, worker_id: str, start: datetime, end: datetime,
                   limit: int) -> list[RecordEntry]:
    """The worker's incidents dispatched in [start, end), newest first, at most `limit`, each with its first
    RESOLVE (one query: the incidents joined to their RESOLVE events and grouped back to one row)."""
    resolves = (IncidentEvent.incident_id == Incident.id) & (IncidentEvent.action == IncidentAction.RESOLVE)
    columns = (Incident.id, Incident.kind, Incident.kind_label, Incident.camera_name, Incident.zone, Incident.status,
               Incident.created_at, Incident.confirmed_at, Incident.resolve_by, func.min(IncidentEvent.at))
    query: Select[*tuple[Any, ...]] = (select(*columns)  # in RecordEntry's field order
                                       .outerjoin(IncidentEvent, resolves)
                                       .where(*_population(worker_id, start, end))
                                       .group_by(Incident.id)
                                       .order_by(Incident.created_at.desc(), Incident.id.desc())
                                       .limit(limit))
    return [RecordEntry(*row) for row in session.execute(query).all()]


def open_count(session: Session, worker_id: str, start: datetime, end: datetime) -> int:
    """How many of the worker's incidents dispatched in [start, end) still wait for them (dispatched,
    accepted or reopened) — counted apart from the history, which is capped."""
    query = select(func.count()).where(*_population(worker_id, start, end), Incident.status.in_(OPEN_STATUSES))
    return session.scalar(query) or 0

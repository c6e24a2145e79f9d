"""The overview's figures, read from the incident store within a user's scope: today's counters,
open incidents per grid and as map markers, the latest audit steps, and each camera's health.

Every query is served by an index, so the overview stays fast on 100,000 incidents:
today's counters by incident_events (action, at); open incidents by incidents (status, confirmed_at);
camera health by camera_events (camera_id, at); recent steps through the newest incidents in scope.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from routing.incidents.lifecycle import CLOSED_STATUSES, OPEN_STATUSES
from routing.incidents.tables import CameraEvent, Incident, IncidentAction, IncidentEvent, IncidentStatus
from streams.health import CameraState

# Not closed (未结案): still on the map, whoever owes the next step (a worker, or the camera's second look).
NOT_CLOSED = tuple(status for status in IncidentStatus if status not in CLOSED_STATUSES)
MARKER_CAP = 2_000  # markers drawn at most, the newest; the rest are counted
RECENT_INCIDENTS = 50  # the feed's backfill reads the steps of this many newest incidents in scope


@dataclass(frozen=True)
class TodayCounts:
    """The day's loop in numbers, each counting incidents (an incident reopened twice today counts once).

    detected (发现): incidents confirmed today (their DETECT step); dispatched (派遣): with a DISPATCH step
    today; resolved (已处置): with a RESOLVE step today; verified (核查通过): with a VERIFY step today;
    reopened (返工): with a REOPEN step today. overdue (超时) is a count of now, not of the day: incidents a
    worker still owes a step (dispatched, accepted, reopened) whose promised deadline has passed —
    resolve_by for all of them, accept_by too while still dispatched. The promised deadlines move only
    by an approved extension, never by escalation, so an escalated incident stays overdue.
    """

    detected: int
    dispatched: int
    resolved: int
    verified: int
    reopened: int
    overdue: int


COUNTED_ACTIONS = {IncidentAction.DETECT: "detected", IncidentAction.DISPATCH: "dispatched",
                   IncidentAction.RESOLVE: "resolved", IncidentAction.VERIFY: "verified",
                   IncidentAction.REOPEN: "reopened"}


def day_bounds(now: datetime, tz: tzinfo) -> tuple[datetime, datetime]:
    """Start and end of `now`'s day in the site's time zone (a DST day is 23 or 25 hours).

    >>> from datetime import UTC
    >>> from zoneinfo import ZoneInfo
    >>> start, end = day_bounds(datetime(2026, 12, 1, 17, 30, tzinfo=UTC), ZoneInfo("Asia/Shanghai"))
    >>> start.isoformat(), end.isoformat()
    ('2026-12-02T00:00:00+08:00', '2026-12-03T00:00:00+08:00')
    """
    day = now.astimezone(tz).date()
    return (datetime.combine(day, time(), tzinfo=tz), datetime.combine(day + timedelta(days=1), time(), tzinfo=tz))


def overdue_condition(now: datetime) -> ColumnElement[bool]:
    """Incidents a worker owes a step whose promised deadline has passed (see TodayCounts.overdue)."""
    return and_(Incident.status.in_(OPEN_STATUSES),
                or_(Incident.resolve_by < now,
                    and_(Incident.status == IncidentStatus.DISPATCHED, Incident.accept_by < now)))


def today_counts(session: Session, scope: ColumnElement[bool], now: datetime, tz: tzinfo) -> TodayCounts:
    start, end = day_bounds(now, tz)
    rows = session.execute(
        select(IncidentEvent.action, func.count(IncidentEvent.incident_id.distinct()))
        .join(Incident, Incident.id == IncidentEvent.incident_id)
        .where(IncidentEvent.action.in_(COUNTED_ACTIONS), IncidentEvent.at >= start, IncidentEvent.at < end, scope)
        .group_by(IncidentEvent.action)).all()
    counted = {COUNTED_ACTIONS[action]: count for action, count in rows}
    overdue = session.scalar(select(func.count()).select_from(Incident).where(overdue_condition(now), scope)) or 0
    return TodayCounts(**{name: counted.get(name, 0) for name in COUNTED_ACTIONS.values()}, overdue=overdue)


def open_by_grid(session: Session, scope: ColumnElement[bool]) -> dict[str | None, int]:
    """Incidents not closed, per grid id (None: in no grid)."""
    rows = session.execute(select(Incident.grid_id, func.count()).where(Incident.status.in_(NOT_CLOSED), scope)
                           .group_by(Incident.grid_id)).all()
    return {grid_id: count for grid_id, count in rows}


@dataclass(frozen=True)
class OpenIncident:
    """What the map shows of an open incident (only these columns are read: the map takes up to
    MARKER_CAP of them on every refresh)."""

    id: str
    kind: str
    kind_label: str
    status: IncidentStatus
    camera_id: str
    camera_name: str
    grid_id: str | None
    confirmed_at: datetime
    overdue: bool


def open_incidents(session: Session, scope: ColumnElement[bool], now: datetime,
                   limit: int = MARKER_CAP) -> list[OpenIncident]:
    """The newest `limit` incidents not closed, each with whether it is overdue now."""
    rows = session.execute(
        select(Incident.id, Incident.kind, Incident.kind_label, Incident.status, Incident.camera_id,
               Incident.camera_name, Incident.grid_id, Incident.confirmed_at, overdue_condition(now))
        .where(Incident.status.in_(NOT_CLOSED), scope)
        .order_by(Incident.confirmed_at.desc(), Incident.id.desc()).limit(limit)).all()
    # A NULL deadline compares as NULL: not overdue.
    return [OpenIncident(*row[:-1], overdue=bool(row[-1])) for row in rows]


def recent_steps(session: Session, scope: ColumnElement[bool], limit: int) -> list[tuple[IncidentEvent, Incident]]:
    """The newest `limit` audit steps of the newest incidents in scope, newest first: the live feed's
    backfill when a page opens or its stream comes back. Detection steps are left out: the dispatch
    step committed with each tells the same news."""
    newest = (select(Incident.id).where(scope).order_by(Incident.confirmed_at.desc())
              .limit(RECENT_INCIDENTS).subquery())
    rows = session.execute(select(IncidentEvent, Incident).join(Incident, Incident.id == IncidentEvent.incident_id)
                           .where(IncidentEvent.incident_id.in_(select(newest.c.id)),
                                  IncidentEvent.action != IncidentAction.DETECT)
                           .order_by(IncidentEvent.id.desc()).limit(limit)).all()
    return [(step, incident) for step, incident in rows]


def latest_camera_states(session: Session, camera_ids: Iterable[str]) -> dict[str, CameraEvent]:
    """Each camera's latest health event (the state it is in, since its `at`); cameras never reported
    are absent. One statement, each camera's row found by a short backward walk of (camera_id, at)."""
    latest = [select(CameraEvent.id).where(CameraEvent.camera_id == camera_id)
              .order_by(CameraEvent.at.desc(), CameraEvent.id.desc()).limit(1).scalar_subquery()
              for camera_id in sorted(set(camera_ids))]
    if not latest:
        return {}
    return {row.camera_id: row for row in session.scalars(select(CameraEvent).where(CameraEvent.id.in_(latest)))}


def is_online(state: CameraState) -> bool:
    """Only a camera giving pictures counts as online; connecting, stalled, offline, failed and a
    finished file all leave its zones unwatched."""
    return state is CameraState.ONLINE

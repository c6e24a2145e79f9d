"""Assessment (考核): the figures China's 数字城管 assessment uses, for a period, per group.

Definitions (`now` and the site time zone `tz` are parameters, so a figure is a function of its input):

- Population: incidents whose `created_at` (dispatch time) lies in [start, end), restricted to the grid ids
  of the user's scope (None: all, incidents without a grid included; a set never holds those).
- Groups: street, community, grid (from the Organisation, by the incident's grid; keys are its node keys, a
  community labelled "street/community"; an incident without a grid is "(no grid)", one whose grid the site no
  longer has is "(grid not in site)" by street and community), worker (the incident's current worker), kind;
  and a total row. Only groups with incidents are listed.
- 立案数 incidents: the count. 误报 false alarms: status FALSE_ALARM; 误报率 = false alarms / incidents.
  Every other figure is over the valid incidents (not false alarms).
- Response: the first ACCEPT event, or the first RESOLVE of an incident resolved without accepting.
- Accepted on time (按时受理率): response at or before `accept_by`. Without a response the incident is late
  once `now` is past `accept_by`, and not yet due (left out of the denominator) until then; an incident with
  no `accept_by` is left out. Denominator: the valid incidents assessed so.
- Resolved on time (按期处置率): the same with the first RESOLVE event and `resolve_by`.
  (`accept_by`/`resolve_by` are the promised deadlines: moved by an approved extension, not by escalation.)
- Closed after verification (结案率): valid incidents now VERIFIED / valid incidents.
- Reopened (返工率): valid incidents with a REOPEN event / valid incidents that were ever resolved
  (only a resolved incident can be reopened).
- Extended (延期率): valid incidents with an EXTEND event / valid incidents.
- Time to accept / to resolve: response / first RESOLVE minus `created_at`, in seconds, over the valid
  incidents that have one; median (mean of the middle two for an even count) and p90 by nearest rank
  (the ceil(0.9 n)-th smallest).
- By day: per site-local day of `created_at`, every day of the period listed: incidents, false alarms,
  valid incidents resolved on time, incidents verified.

One query fetches one row per incident of the period: its columns and, grouped from its `incident_events`,
the first ACCEPT and RESOLVE and whether it was reopened or extended. The figures are tallied in Python, since
street and community come from the site's organisation and medians need every duration anyway.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, case, func, select
from sqlalchemy.orm import Session

from routing.assign.organisation import Organisation
from routing.incidents.assessment_tally import AssessmentRow, DailyFigures, IncidentFacts, Tally, on_time
from routing.incidents.tables import Incident, IncidentAction, IncidentEvent, IncidentStatus

# The result types live with the arithmetic; the web imports them from here with `assess`.
__all__ = ["Assessment", "AssessmentRow", "DailyFigures", "GroupBy", "assess", "fetch_facts"]

NO_GRID = "(no grid)"
GRID_NOT_IN_SITE = "(grid not in site)"
NO_WORKER = "(no worker)"
TOTAL = "total"


class GroupBy(StrEnum):
    STREET = "street"
    COMMUNITY = "community"
    GRID = "grid"
    WORKER = "worker"
    KIND = "kind"


@dataclass(frozen=True, slots=True)
class Assessment:
    """The figures of a period: a row per group, the total, and the chart's days."""

    start: datetime
    end: datetime
    group_by: GroupBy
    rows: tuple[AssessmentRow, ...]  # sorted by key
    total: AssessmentRow
    daily: tuple[DailyFigures, ...]


def assess(session: Session, start: datetime, end: datetime, group_by: GroupBy, organisation: Organisation,
           grid_ids: Collection[str] | None, now: datetime, tz: ZoneInfo,
           worker_names: Mapping[str, str] | None = None, worker_id: str | None = None) -> Assessment:
    """The assessment of incidents dispatched in [start, end) in `grid_ids` (None: everywhere), as of `now`.

    `worker_names` (worker id -> name, e.g. from the roster) labels worker rows "name (id)". `worker_id`
    narrows the population to one worker's incidents (their own record), so only those are fetched.

    >>> assess(session, start, end, GroupBy.STREET, site.organisation(), None, utc_now(),
    ...        ZoneInfo("Asia/Shanghai")).total.resolved_on_time_rate  # doctest: +SKIP
    0.875
    """
    for name, instant in (("start", start), ("end", end), ("now", now)):
        if instant.tzinfo is None:
            raise ValueError(f"{name} {instant.isoformat()} has no time zone")
    if end <= start:
        raise ValueError(f"the period must end after it starts, got {start.isoformat()} .. {end.isoformat()}")
    group_of = _grouping(group_by, organisation, worker_names or {})
    groups: defaultdict[tuple[str, str], Tally] = defaultdict(Tally)
    days: dict[str, Counter[date]] = {name: Counter() for name in ("incidents", "false_alarms",
                                                                   "resolved_on_time", "verified")}
    for facts in fetch_facts(session, start, end, grid_ids, worker_id):
        accepted_in_time = resolved_in_time = None
        if facts.valid:
            accepted_in_time = on_time(facts.responded_at, facts.accept_by, now)
            resolved_in_time = on_time(facts.first_resolve, facts.resolve_by, now)
        groups[group_of(facts)].add(facts, accepted_in_time, resolved_in_time)
        day = facts.created_at.astimezone(tz).date()
        days["incidents"][day] += 1
        days["false_alarms"][day] += not facts.valid
        days["resolved_on_time"][day] += resolved_in_time is True
        days["verified"][day] += facts.status is IncidentStatus.VERIFIED
    rows = tuple(tally.row(key, label) for (key, label), tally in sorted(groups.items()))
    daily = tuple(DailyFigures(day, **{name: counts[day] for name, counts in days.items()})
                  for day in _local_days(start, end, tz))
    total = Tally.combined(groups.values()).row(TOTAL, "合计 total")
    return Assessment(start, end, group_by, rows, total, daily)


def fetch_facts(session: Session, start: datetime, end: datetime,
                grid_ids: Collection[str] | None, worker_id: str | None = None) -> list[IncidentFacts]:
    """Every incident of the population with its first events, in one query (columns in the order of
    IncidentFacts' fields). Run as Core on the session's connection: plain rows, no ORM loading per row."""
    query = _facts_query(start, end, grid_ids, worker_id)
    rows = session.connection().execute(query).all()  # one fetch, not one per row
    return [IncidentFacts(*row) for row in rows]


def _facts_query(start: datetime, end: datetime, grid_ids: Collection[str] | None,
                 worker_id: str | None) -> Select[*tuple[Any, ...]]:
    """The period's incidents, each joined to its counted events (by the events' incident index) and grouped back
    to one row: the first time of each action, and whether it was ever reopened or extended."""
    population: list[ColumnElement[bool]] = [Incident.created_at >= start, Incident.created_at < end]
    if grid_ids is not None:
        population.append(Incident.grid_id.in_(sorted(grid_ids)))
    if worker_id is not None:
        population.append(Incident.worker_id == worker_id)
    action, at = IncidentEvent.action, IncidentEvent.at
    counted = (IncidentAction.ACCEPT, IncidentAction.RESOLVE, IncidentAction.REOPEN, IncidentAction.EXTEND)
    return (select(Incident.grid_id, Incident.worker_id, Incident.kind, Incident.kind_label, Incident.status,
                   Incident.created_at, Incident.accept_by, Incident.resolve_by,
                   func.min(case((action == IncidentAction.ACCEPT, at))),
                   func.min(case((action == IncidentAction.RESOLVE, at))),
                   func.count(case((action == IncidentAction.REOPEN, 1))) > 0,
                   func.count(case((action == IncidentAction.EXTEND, 1))) > 0)
            .outerjoin(IncidentEvent, (IncidentEvent.incident_id == Incident.id) & action.in_(counted))
            .where(*population)
            .group_by(Incident.id))


def _grouping(group_by: GroupBy, organisation: Organisation,
              worker_names: Mapping[str, str]) -> Callable[[IncidentFacts], tuple[str, str]]:
    """(key, label) of an incident's group; organisation keys are the Organisation's node keys."""
    seen: dict[str, tuple[str, str]] = {}  # grid id -> its group, looked up once

    def org_group(facts: IncidentFacts) -> tuple[str, str]:
        grid_id = facts.grid_id
        if grid_id is None:
            return NO_GRID, NO_GRID
        if grid_id not in seen:
            seen[grid_id] = _org_group(organisation, grid_id, group_by)
        return seen[grid_id]

    def worker(facts: IncidentFacts) -> tuple[str, str]:
        if facts.worker_id is None:
            return NO_WORKER, NO_WORKER
        name = worker_names.get(facts.worker_id)
        return f"worker:{facts.worker_id}", f"{name} ({facts.worker_id})" if name else facts.worker_id

    def kind(facts: IncidentFacts) -> tuple[str, str]:
        return f"kind:{facts.kind}", facts.kind_label or facts.kind

    if group_by is GroupBy.WORKER:
        return worker
    if group_by is GroupBy.KIND:
        return kind
    return org_group


def _org_group(organisation: Organisation, grid_id: str, level: GroupBy) -> tuple[str, str]:
    """(node key, label) of the grid's street, community or itself; a grid the site no longer has (its
    incidents stay in the store) keeps its id as a grid and is GRID_NOT_IN_SITE above that."""
    try:
        grid = organisation.node(f"grid:{grid_id}")
    except ValueError:
        return (f"grid:{grid_id}", grid_id) if level is GroupBy.GRID else (GRID_NOT_IN_SITE, GRID_NOT_IN_SITE)
    if level is GroupBy.STREET:
        return f"street:{grid.street}", organisation.node(f"street:{grid.street}").label
    if level is GroupBy.COMMUNITY:  # labelled with its street: two streets may each have a 汇丰社区
        community = organisation.node(f"community:{grid.street}/{grid.community}")
        return community.key, f"{grid.street}/{community.label}"
    return grid.key, grid.label


def _local_days(start: datetime, end: datetime, tz: ZoneInfo) -> list[date]:
    """Every site-local day the period [start, end) touches."""
    first, last = start.astimezone(tz).date(), (end - timedelta(microseconds=1)).astimezone(tz).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]

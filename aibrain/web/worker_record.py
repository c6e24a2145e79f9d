"""The worker's own record (我的记录): the month's figures and history, /m/api/record.

The figures are the assessment's (考核, `routing.incidents.assessment`) row for this worker over the month
in the site's time zone, so a worker and their leader never see two different numbers:

- handled (处置数): incidents they resolved at least once (`ever_resolved`); on_time: of those, resolved by the
  promised deadline (`resolved_on_time`); on_time_pct: the 按期处置率 in percent with one decimal, as the
  assessment page shows it — its denominator also holds open incidents already past their deadline, and it is
  null when no incident is assessed yet (nothing resolved, nothing overdue).
- reopened (返工), false_alarms (误报), extensions (延期): the assessment's counts.
- open: incidents of the month still waiting for them (dispatched, accepted, reopened).

Whose incidents: the assessment counts an incident for its current worker, so after a reassignment it is in
the new worker's record and gone from the previous one's. The record covers every grid (the worker's
incidents wherever they are); a leader's assessment page covers the grids of the leader's scope.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from aibrain.web.incident_view import STATUS_LABELS
from aibrain.web.signed_in import Reader
from aibrain.web.workbench import Workbench, workbench
from routing.access.roles import Role
from routing.incidents.assessment import GroupBy, assess
from routing.incidents.assessment_tally import AssessmentRow
from routing.incidents.worker_record_query import RecordEntry, open_count, worker_history

router = APIRouter()
Bench = Annotated[Workbench, Depends(workbench)]
HISTORY_LIMIT = 200  # a month of one worker's incidents rarely reaches it; the figures count them all anyway
MONTH = re.compile(r"\d{4}-\d{2}")


class Figures(BaseModel):
    handled: int
    on_time: int
    on_time_pct: float | None
    reopened: int
    false_alarms: int
    extensions: int
    open: int


class HistoryEntry(BaseModel):
    id: str
    kind_label: str
    camera_name: str
    zone: str
    confirmed_at: str
    resolved_at: str | None  # the first resolve: the one the assessment judges on time or late
    status: str
    status_label: str
    on_time: bool | None  # None: not assessed (a false alarm, no deadline, or open and not yet due)


class Record(BaseModel):
    month: str
    figures: Figures
    history: list[HistoryEntry]


def _refused(status_code: int, code: str, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail, "code": code}, status_code=status_code)


def month_span(month: str, tz: ZoneInfo) -> tuple[datetime, datetime] | None:
    """[start, end) of "YYYY-MM" in the site's zone; None when it is not a month."""
    if not MONTH.fullmatch(month):
        return None
    try:
        first = date.fromisoformat(f"{month}-01")
    except ValueError:
        return None
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return datetime.combine(first, time(), tz), datetime.combine(following, time(), tz)


def figures(row: AssessmentRow | None, open_now: int) -> Figures:
    """The worker's assessment row as the record shows it (no row: no incidents in the month)."""
    if row is None:
        return Figures(handled=0, on_time=0, on_time_pct=None, reopened=0, false_alarms=0, extensions=0,
                       open=open_now)
    rate = row.resolved_on_time_rate
    return Figures(handled=row.ever_resolved, on_time=row.resolved_on_time,
                   on_time_pct=None if rate is None else round(rate * 100, 1), reopened=row.reopened,
                   false_alarms=row.false_alarms, extensions=row.extended, open=open_now)


def history_entry(entry: RecordEntry, now: datetime, tz: ZoneInfo) -> HistoryEntry:
    resolved = entry.first_resolve
    return HistoryEntry(id=entry.id, kind_label=entry.kind_label or entry.kind, camera_name=entry.camera_name,
                        zone=entry.zone, confirmed_at=_local(entry.confirmed_at, tz),
                        resolved_at=_local(resolved, tz) if resolved else None, status=entry.status.value,
                        status_label=STATUS_LABELS[entry.status].split(" ", 1)[0],  # the 中文 half
                        on_time=entry.on_time(now))


def _local(at: datetime, tz: ZoneInfo) -> str:
    return at.astimezone(tz).isoformat(timespec="seconds")


@router.get("/m/api/record", response_model=Record)
def worker_record(bench: Bench, user: Reader,
                  month: Annotated[str | None, Query(description="YYYY-MM; default: this month")] = None,
                  ) -> Record | JSONResponse:
    if user.role is not Role.WORKER or not user.worker_id:
        return _refused(403, "not_worker", "我的记录只供网格员查看 (the record is a grid worker's own)")
    tz, now = bench.site.config.tz, bench.clock()
    month = month or now.astimezone(tz).strftime("%Y-%m")
    span = month_span(month, tz)
    if span is None:
        return _refused(422, "invalid", f"参数 month 应为 YYYY-MM 格式的月份，收到 {month!r} "
                                        f"(the month parameter must be a month written YYYY-MM)")
    start, end = span
    with bench.sessions() as session:
        assessment = assess(session, start, end, GroupBy.WORKER, bench.organisation, None, now, tz,
                            worker_id=user.worker_id)
        history = worker_history(session, user.worker_id, start, end, HISTORY_LIMIT)
        open_now = open_count(session, user.worker_id, start, end)
    row = next((row for row in assessment.rows if row.key == f"worker:{user.worker_id}"), None)
    return Record(month=month, figures=figures(row, open_now),
                  history=[history_entry(entry, now, tz) for entry in history])

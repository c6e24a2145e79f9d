"""Assessment (考核) in the workbench: the figures of a period per street, community, grid, worker or
kind within the user's scope, a chart by day, the CSV for Excel, and a monthly report page that
prints to PDF. The figures are routing.incidents.assessment's; this module only asks and shows."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response

from aibrain.web.signed_in import Reader, SignedIn
from aibrain.web.workbench import Workbench, workbench
from routing.incidents.assessment import Assessment, GroupBy, assess
from routing.incidents.assessment_csv import COLUMNS, GROUP_HEADERS, assessment_csv

router = APIRouter()
Bench = Annotated[Workbench, Depends(workbench)]
MAX_PERIOD_DAYS = 366
# The groups worth a table below each level of the organisation (a grid's leader has no streets to compare).
GROUPINGS_BELOW = {"district": [GroupBy.STREET, GroupBy.COMMUNITY, GroupBy.GRID],
                   "street": [GroupBy.COMMUNITY, GroupBy.GRID], "community": [GroupBy.GRID], "grid": []}


def assessor(user: Reader) -> SignedIn:
    if not user.acts_on_incidents:
        raise HTTPException(403, "assessment is for grid leaders, the command centre and administrators")
    return user


Assessor = Annotated[SignedIn, Depends(assessor)]
From = Annotated[date | None, Query(alias="from", description="first day, site time")]
To = Annotated[date | None, Query(alias="to", description="last day (included), site time")]


def period(bench: Workbench, first: date | None, last: date | None) -> tuple[date, date, datetime, datetime]:
    """The chosen days (default: this month so far) and the instants they span in the site's zone."""
    tz = bench.site.config.tz
    today = bench.clock().astimezone(tz).date()
    first = first or today.replace(day=1)
    last = last or today
    if last < first:
        raise HTTPException(422, f"the period ends ({last}) before it starts ({first})")
    if (last - first).days >= MAX_PERIOD_DAYS:
        raise HTTPException(422, f"choose at most {MAX_PERIOD_DAYS} days")
    start = datetime.combine(first, time(), tz)
    end = datetime.combine(last + timedelta(days=1), time(), tz)
    return first, last, start, end


def figures(bench: Workbench, user: SignedIn, start: datetime, end: datetime, group_by: GroupBy) -> Assessment:
    names = {worker.id: worker.name for worker in bench.site.config.workers}
    with bench.sessions() as session:
        return assess(session, start, end, group_by, bench.organisation, None if user.ungridded else user.grid_ids,
                      bench.clock(), bench.site.config.tz, worker_names=names)


def table(assessment: Assessment) -> dict[str, Any]:
    """Headers and cells as the CSV writes them, so the page and the file never disagree."""
    rows = [[row.label, *(cell(row) for _, cell in COLUMNS)] for row in assessment.rows]
    return {"headers": [GROUP_HEADERS[assessment.group_by], *(header for header, _ in COLUMNS)], "rows": rows,
            "total": ["合计 total", *(cell(assessment.total) for _, cell in COLUMNS)]}


def chart_data(assessment: Assessment) -> str:
    """The days as JSON for a <script type="application/json"> block ("<" escaped, so it cannot end the block)."""
    days = [asdict(day) | {"day": day.day.isoformat()} for day in assessment.daily]
    return json.dumps(days).replace("<", "\\u003c")


@router.get("/assessment", include_in_schema=False)
def assessment_page(request: Request, bench: Bench, user: Assessor, first: From = None, last: To = None,
                    by: GroupBy = GroupBy.GRID) -> Response:
    first, last, start, end = period(bench, first, last)
    result = figures(bench, user, start, end, by)
    return bench.page(request, "assessment.html.j2", {
        "user": user, "active": "/assessment", "first": first, "last": last, "by": by, "groupings": list(GroupBy),
        "table": table(result), "total": result.total, "daily": chart_data(result),
        "query": f"from={first}&to={last}&by={by.value}"})


@router.get("/assessment.csv", include_in_schema=False)
def assessment_file(bench: Bench, user: Assessor, first: From = None, last: To = None,
                    by: GroupBy = GroupBy.GRID) -> Response:
    first, last, start, end = period(bench, first, last)
    name = f"assessment-{first}-{last}-{by.value}.csv"
    return Response(assessment_csv(figures(bench, user, start, end, by)), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/assessment/monthly", include_in_schema=False)
def monthly_report(request: Request, bench: Bench, user: Assessor,
                   month: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}$")] = None) -> Response:
    today = bench.clock().astimezone(bench.site.config.tz).date()
    try:
        first = date.fromisoformat(f"{month}-01") if month else today.replace(day=1)
    except ValueError:
        raise HTTPException(422, f"month {month!r} is not a month; write YYYY-MM") from None
    last = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    first, last, start, end = period(bench, first, last)
    results = {by: figures(bench, user, start, end, by)
               for by in [*GROUPINGS_BELOW[user.node.level.value], GroupBy.WORKER, GroupBy.KIND]}
    overall = results[GroupBy.KIND]
    return bench.page(request, "assessment_monthly.html.j2", {
        "user": user, "active": "/assessment", "first": first, "last": last,
        "sections": [(GROUP_HEADERS[by], table(result)) for by, result in results.items()],
        "total": overall.total, "daily": chart_data(overall),
        "printed_at": bench.clock().astimezone(bench.site.config.tz)})

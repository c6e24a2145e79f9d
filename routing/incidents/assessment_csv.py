"""The assessment as a CSV file for Excel: UTF-8 with a BOM (Excel in China reads it right only so), headers
in 中文 and English, percentages and minutes with one decimal, and names that cannot run as formulas."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

from routing.incidents.assessment import Assessment, GroupBy
from routing.incidents.assessment_tally import AssessmentRow

GROUP_HEADERS = {GroupBy.STREET: "街道 street", GroupBy.COMMUNITY: "社区 community", GroupBy.GRID: "网格 grid",
                 GroupBy.WORKER: "网格员 worker", GroupBy.KIND: "类型 kind"}
# Characters that make a spreadsheet read a cell as a formula (or, for tab and CR, shift it); OWASP's list.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _percent(rate: float | None) -> str:
    return "" if rate is None else f"{rate * 100:.1f}"


def _minutes(seconds: float | None) -> str:
    return "" if seconds is None else f"{seconds / 60:.1f}"


COLUMNS: tuple[tuple[str, Callable[[AssessmentRow], str]], ...] = (
    ("立案数 incidents", lambda row: str(row.incidents)),
    ("误报数 false alarms", lambda row: str(row.false_alarms)),
    ("误报率 false alarm %", lambda row: _percent(row.false_alarm_rate)),
    ("按时受理率 accepted on time %", lambda row: _percent(row.accepted_on_time_rate)),
    ("按期处置率 resolved on time %", lambda row: _percent(row.resolved_on_time_rate)),
    ("结案率 closed after verification %", lambda row: _percent(row.closed_rate)),
    ("返工率 reopened %", lambda row: _percent(row.reopened_rate)),
    ("延期率 extended %", lambda row: _percent(row.extended_rate)),
    ("受理用时中位数 median minutes to accept", lambda row: _minutes(row.median_accept_s)),
    ("受理用时P90 p90 minutes to accept", lambda row: _minutes(row.p90_accept_s)),
    ("处置用时中位数 median minutes to resolve", lambda row: _minutes(row.median_resolve_s)),
    ("处置用时P90 p90 minutes to resolve", lambda row: _minutes(row.p90_resolve_s)),
)


def neutralise(text: str) -> str:
    """A cell Excel shows as text: one that could start a formula gets a leading apostrophe.

    >>> neutralise("=HYPERLINK(\\"http://x\\")"), neutralise("东街网格")
    ('\\'=HYPERLINK("http://x")', '东街网格')
    """
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text


def assessment_csv(assessment: Assessment) -> bytes:
    """A row per group, then the total; names are neutralised, figures are written by this module."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([GROUP_HEADERS[assessment.group_by], *(header for header, _ in COLUMNS)])
    for row in (*assessment.rows, assessment.total):
        writer.writerow([neutralise(row.label), *(cell(row) for _, cell in COLUMNS)])
    return out.getvalue().encode("utf-8-sig")

"""The report page: a Jinja2 template filled with the rows, tables and timeline; nothing loaded from elsewhere."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from aibrain.replay.inputs import format_media_time
from aibrain.replay.outcome import ReplayOutcome
from aibrain.replay.report.context import ReportContext
from aibrain.replay.report.rows import IncidentRow
from aibrain.replay.report.summary import GridCount, KindCount, TimelineRow


@dataclass(frozen=True)
class Page:
    """Everything the template shows."""

    context: ReportContext
    outcome: ReplayOutcome
    rows: list[IncidentRow]
    thumbnails: dict[int, str]  # incident number -> data URI
    kinds: list[KindCount]
    grids: list[GridCount]
    timeline: list[TimelineRow]


def render(page: Page) -> str:
    return environment(page.context).get_template("report.html.j2").render(page=page, **vars(page))


def environment(context: ReportContext) -> Environment:
    """The templates of this folder (the replay's page, and pages that reuse its style) with their filters."""
    templates = Environment(loader=PackageLoader("aibrain.replay.report"),
                            autoescape=select_autoescape(["html", "j2"]), undefined=StrictUndefined,
                            trim_blocks=True, lstrip_blocks=True)
    templates.filters["media_time"] = format_media_time
    templates.filters["local"] = lambda value: local_text(value, context)
    templates.filters["file_name"] = lambda value: Path(value).name
    return templates


def local_text(value: datetime, context: ReportContext) -> str:
    """`YYYY-MM-DD HH:MM:SS.s` in the site's timezone, as printed on a work order."""
    local = value.astimezone(context.tz)
    return f"{local:%Y-%m-%d %H:%M:%S}.{local.microsecond // 100_000}"

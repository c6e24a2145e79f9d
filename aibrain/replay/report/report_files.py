"""Write the report folder: evidence clips (if asked), incidents.csv and .json, then report.html."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import av

from aibrain.replay.outcome import ReplayOutcome
from aibrain.replay.report.clips import write_clip
from aibrain.replay.report.context import ReportContext
from aibrain.replay.report.data_files import write_csv, write_json
from aibrain.replay.report.html import Page, render
from aibrain.replay.report.images import thumbnail_uri
from aibrain.replay.report.rows import IncidentRow, incident_rows
from aibrain.replay.report.summary import grid_counts, kind_counts, timeline

log = logging.getLogger(__name__)

REPORT_FILE = "report.html"


def write_report(outcome: ReplayOutcome, context: ReportContext, report_dir: Path, clips: bool = False) -> Path:
    """Writes `report_dir`/report.html beside incidents.csv, incidents.json, evidence/ (and clips/); returns
    the page's path."""
    report_dir.mkdir(parents=True, exist_ok=True)
    rows = incident_rows(outcome.records, context, report_dir)
    if clips:
        rows = [with_clip(row, report_dir) for row in rows]
    exported = [row.exported(context) for row in rows]
    write_csv(exported, report_dir / "incidents.csv")
    write_json(exported, report_dir / "incidents.json")
    thumbnails = {row.number: uri for row in rows
                  if row.snapshot and (uri := thumbnail_uri(report_dir / row.snapshot)) is not None}
    kinds = kind_counts(rows)
    page = Page(context, outcome, rows, thumbnails, kinds, grid_counts(rows, kinds),
                timeline(outcome.files, rows, kinds))
    path = report_dir / REPORT_FILE
    path.write_text(render(page), encoding="utf-8")
    return path


def with_clip(row: IncidentRow, report_dir: Path) -> IncidentRow:
    """The row with its evidence clip; a clip that cannot be cut is logged and left out."""
    name = f"clips/{row.number:04d}_{row.record.kind}.mp4"
    try:
        write_clip(row.record.file, row.record.media_time_s, report_dir / name)
    except (av.FFmpegError, OSError, IndexError) as exc:  # IndexError: no video stream
        log.warning("incident #%d: no evidence clip from %s: %s", row.number, row.record.file, exc)
        return row
    return replace(row, clip=name)

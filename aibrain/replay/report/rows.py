"""Incident records as the report shows them: numbered, times in the site's timezone, names beside ids,
paths relative to the report folder (so the folder can be moved or zipped as a whole)."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from aibrain.replay.outcome import IncidentRecord
from aibrain.replay.report.context import ReportContext

# The first columns of incidents.csv and keys of incidents.json, in this order.
COLUMNS = ("number", "kind", "kind_label_zh", "camera_id", "camera_name", "zone", "grid_id", "grid_name",
           "worker_id", "worker_name", "object_kind", "class_name", "track_id", "confidence", "first_seen",
           "confirmed_at", "media_time_s", "file", "bbox", "snapshot", "clip", "incident_id", "dispatch_id")


@dataclass(frozen=True)
class IncidentRow:
    """One incident of the report: the replay's record, its times in the site's timezone, names beside its
    ids, and its evidence as paths in the report folder."""

    number: int
    record: IncidentRecord
    first_seen: datetime
    confirmed_at: datetime
    grid_name: str
    worker_name: str
    snapshot: str | None  # relative to the report folder
    clip: str | None = None

    def exported(self, context: ReportContext) -> dict[str, Any]:
        """The row as incidents.json and incidents.csv hold it: COLUMNS, then any other field of the record."""
        values = self.record.as_json() | {
            "number": self.number, "camera_name": context.camera_name, "grid_name": self.grid_name,
            "worker_name": self.worker_name, "first_seen": self.first_seen.isoformat(),
            "confirmed_at": self.confirmed_at.isoformat(), "snapshot": self.snapshot, "clip": self.clip}
        return {column: values.get(column) for column in COLUMNS} | \
            {key: value for key, value in values.items() if key not in COLUMNS}


def in_report(path: Path, report_dir: Path, folder: str) -> str:
    """`path` relative to the report folder, copied into `folder` there when it lies elsewhere."""
    path, report_dir = path.resolve(), report_dir.resolve()
    if not path.is_relative_to(report_dir):
        target = report_dir / folder / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
        path = target
    return Path(os.path.relpath(path, report_dir)).as_posix()


def incident_rows(records: list[IncidentRecord], context: ReportContext, report_dir: Path) -> list[IncidentRow]:
    """Rows in order of confirmation (files in replay order, then media time)."""
    return [IncidentRow(number=number, record=record,
                        first_seen=record.first_seen.astimezone(context.tz),
                        confirmed_at=record.confirmed_at.astimezone(context.tz),
                        grid_name=context.grid_names.get(record.grid_id or "", ""),
                        worker_name=context.worker_names.get(record.worker_id or "", ""),
                        snapshot=in_report(record.snapshot, report_dir, "evidence")
                        if record.snapshot and record.snapshot.is_file() else None)
            for number, record in enumerate(records, start=1)]

"""The replay report's pieces: tables and timeline from incident records, the files it writes."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import cv2
import numpy as np

from aibrain.replay.outcome import FileOutcome, IncidentRecord, ReplayOutcome
from aibrain.replay.report import ReportContext, write_report
from aibrain.replay.report.rows import COLUMNS, incident_rows
from aibrain.replay.report.summary import grid_counts, kind_counts, label_lanes, tick_times, timeline

ORIGIN = datetime(2026, 5, 1, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
CONTEXT = ReportContext("cam-07", "广场路口", ZoneInfo("Asia/Shanghai"), [("speed", "max")],
                        grid_names={"G-01": "第一网格"}, worker_names={"w-001": "张伟"})


def record(kind: str, label: str, at_s: float, file: Path, grid: str | None = "G-01",
           snapshot: Path | None = None) -> IncidentRecord:
    return IncidentRecord(incident_id=f"i-{kind}-{at_s}", dispatch_id=f"d-{at_s}", kind=kind, kind_label_zh=label,
                          object_count=1, camera_id="cam-07", zone="sidewalk", grid_id=grid,
                          worker_id="w-001" if grid else None, object_kind="motor_vehicle", class_name="car",
                          track_id=3, first_seen=ORIGIN + timedelta(seconds=at_s - 4),
                          confirmed_at=ORIGIN + timedelta(seconds=at_s), media_time_s=at_s,
                          bbox=(1.0, 2.0, 30.5, 40.0), confidence=0.91, snapshot=snapshot, file=file)


def test_kinds_most_frequent_first_and_grids_with_a_row_for_incidents_without_one(tmp_path: Path) -> None:
    clip = tmp_path / "a.mp4"
    records = [record("motor_parking", "机动车乱停放", 5, clip), record("non_motor_parking", "非机动车乱停放", 6, clip),
               record("non_motor_parking", "非机动车乱停放", 7, clip, grid=None)]
    rows = incident_rows(records, CONTEXT, tmp_path)
    kinds = kind_counts(rows)
    assert [(k.kind, k.label_zh, k.count) for k in kinds] == [("non_motor_parking", "非机动车乱停放", 2),
                                                             ("motor_parking", "机动车乱停放", 1)]
    assert len({k.colour for k in kinds}) == 2
    assert [(g.grid_id, g.name, g.per_kind, g.total) for g in grid_counts(rows, kinds)] == [
        ("G-01", "第一网格", (1, 1), 2), ("—", "no grid found", (1, 0), 1)]


def test_timeline_places_confirmations_on_each_files_axis(tmp_path: Path) -> None:
    first, second = tmp_path / "a.mp4", tmp_path / "b.mp4"
    files = [FileOutcome(first, 0.0, 100.0, start_s=10.0, end_s=60.0), FileOutcome(second, 100.0, None, error="x")]
    rows = incident_rows([record("motor_parking", "机动车乱停放", 25.0, first)], CONTEXT, tmp_path)
    line, broken = timeline(files, rows, kind_counts(rows))
    assert line.replayed_pct == (10.0, 50.0) and [m.left_pct for m in line.marks] == [25.0]
    assert line.ticks[0] == (0.0, "0:00:00.0") and line.ticks[-1] == (90.0, "0:01:30.0")
    assert broken.marks == () and broken.ticks == (), "a file of unknown length gets an empty axis"


def test_marks_close_together_get_their_labels_on_separate_rows(tmp_path: Path) -> None:
    clip = tmp_path / "a.mp4"
    rows = incident_rows([record("motor_parking", "机动车乱停放", t, clip) for t in (50.0, 50.5, 51.0, 80.0)],
                         CONTEXT, tmp_path)
    [line] = timeline([FileOutcome(clip, 0.0, 100.0)], rows, kind_counts(rows))
    assert [(m.number, m.lane) for m in line.marks] == [(1, 0), (2, 1), (3, 2), (4, 0)]
    assert line.lanes == 3
    assert label_lanes([]) == ()


def test_ticks_fall_on_round_clock_values() -> None:
    assert tick_times(7.5) == [0, 2, 4, 6]
    assert tick_times(30) == [0, 5, 10, 15, 20, 25, 30]
    assert tick_times(3 * 3600)[:3] == [0, 1800, 3600]


def test_report_folder_holds_page_csv_json_and_copies_of_outside_evidence(tmp_path: Path) -> None:
    snapshot = tmp_path / "site-evidence" / "shot.jpg"
    snapshot.parent.mkdir()
    cv2.imwrite(str(snapshot), np.full((480, 640, 3), 128, np.uint8))
    clip = tmp_path / "rec <1> & more.mp4"  # names reach the page escaped
    outcome = ReplayOutcome(started_at=ORIGIN, files=[FileOutcome(clip, ORIGIN.timestamp(), 60.0, incidents=1)],
                            records=[record("motor_parking", "机动车乱停放", 5, clip, snapshot=snapshot)],
                            finished_at=ORIGIN)
    report_dir = tmp_path / "report"
    page = write_report(outcome, CONTEXT, report_dir)

    assert page == report_dir / "report.html"
    html = page.read_text(encoding="utf-8")
    assert "rec &lt;1&gt; &amp; more.mp4" in html and "rec <1>" not in html
    assert html.count('src="data:image/jpeg;base64,') == 1 and 'href="evidence/shot.jpg"' in html
    assert (report_dir / "evidence" / "shot.jpg").is_file(), "evidence from elsewhere is copied in"
    assert (report_dir / "incidents.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    with (report_dir / "incidents.csv").open(encoding="utf-8-sig", newline="") as rows:
        [row] = list(csv.DictReader(rows))
    assert tuple(row) == (*COLUMNS, "object_count"), "the record's other fields follow the usual columns"
    assert (row["kind_label_zh"], row["grid_name"], row["worker_name"], row["bbox"], row["snapshot"]) == \
        ("机动车乱停放", "第一网格", "张伟", "1.0 2.0 30.5 40.0", "evidence/shot.jpg")
    assert (row["first_seen"], row["confirmed_at"]) == ("2026-05-01T09:00:01+08:00", "2026-05-01T09:00:05+08:00")
    [exported] = json.loads((report_dir / "incidents.json").read_text(encoding="utf-8"))
    assert exported["bbox"] == [1.0, 2.0, 30.5, 40.0] and exported["clip"] is None and exported["number"] == 1


def test_a_record_is_written_with_its_keys_in_order_times_with_their_offset_and_paths_as_text(tmp_path: Path) -> None:
    written = record("motor_parking", "机动车乱停放", 5, tmp_path / "a.mp4", snapshot=tmp_path / "s.jpg").as_json()
    assert list(written) == ["incident_id", "dispatch_id", "kind", "kind_label_zh", "object_count", "camera_id", "zone",
                             "grid_id", "worker_id", "object_kind", "class_name", "track_id", "first_seen",
                             "confirmed_at", "media_time_s", "bbox", "confidence", "snapshot", "file"]
    assert (written["confirmed_at"], written["bbox"], written["snapshot"], written["file"]) == \
        ("2026-05-01T01:00:05+00:00", [1.0, 2.0, 30.5, 40.0], str(tmp_path / "s.jpg"), str(tmp_path / "a.mp4"))
    assert json.loads(json.dumps(written)) == written, "plain JSON values only"

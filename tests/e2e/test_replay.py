"""Replay: recorded street footage through a camera's zones and rules, by media time."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from routing.incidents.database import make_engine, session_factory
from routing.incidents.tables import Incident, IncidentEvent
from tests.e2e.replay_site import (
    CAR_ZONE,
    DWELL_S,
    ORIGIN,
    SKY_ZONE,
    aibrain_replay,
    read_json_lines,
    replay_incidents,
    write_site,
)

pytestmark = pytest.mark.e2e

CLIP_S = 7.5  # pialin_street.mp4


def media_s(record: dict, key: str = "confirmed_at") -> float:
    return (datetime.fromisoformat(record[key]) - datetime.fromisoformat(ORIGIN)).total_seconds()


def test_parked_car_on_the_sidewalk_gives_one_motor_parking_incident(
        tmp_path: Path, pialin_street: Path, yolo_onnx: Path) -> None:
    site = write_site(tmp_path, str(pialin_street), yolo_onnx, CAR_ZONE)
    incidents = replay_incidents(site, pialin_street, "--origin", ORIGIN)
    assert len(incidents) == 1, incidents
    incident = incidents[0]
    assert incident["kind"] == "motor_parking" and incident["kind_label_zh"] == "机动车乱停放"
    assert incident["object_kind"] == "motor_vehicle" and incident["class_name"] == "car"
    assert (incident["camera_id"], incident["zone"], incident["grid_id"], incident["worker_id"]) == \
        ("cam-07", "sidewalk", "G-01", "w-001")
    assert media_s(incident) - media_s(incident, "first_seen") >= DWELL_S, "confirmed only after the dwell"
    assert DWELL_S <= media_s(incident) <= CLIP_S, "times come from the clip, not the wall clock"
    assert incident["media_time_s"] == pytest.approx(media_s(incident), abs=0.01)
    assert incident["confidence"] > 0.5 and len(incident["bbox"]) == 4
    assert Path(incident["snapshot"]).is_file()


def test_zone_without_the_car_gives_nothing(tmp_path: Path, pialin_street: Path, yolo_onnx: Path) -> None:
    site = write_site(tmp_path, str(pialin_street), yolo_onnx, SKY_ZONE)
    assert replay_incidents(site, pialin_street, "--origin", ORIGIN) == []


def test_unreadable_file_in_a_folder_is_reported_and_the_others_keep_their_incidents(
        tmp_path: Path, pialin_street: Path, yolo_onnx: Path) -> None:
    folder = tmp_path / "recordings"
    (folder / "day2").mkdir(parents=True)
    (folder / "a_broken.mp4").write_bytes(b"not a video at all" * 100)
    (folder / "day2" / "b_street.mp4").symlink_to(pialin_street)
    (folder / "notes.txt").write_text("not a video, and not looked at")
    site = write_site(tmp_path, str(pialin_street), yolo_onnx, CAR_ZONE)
    out = tmp_path / "incidents.jsonl"
    run = aibrain_replay(site, folder, "--origin", ORIGIN, "--json", out, progress=True)
    assert run.returncode == 1, "a file that could not be read makes the replay fail, after the others"
    bars = [line for line in run.stderr.splitlines() if "━" in line]
    assert [bar.split()[0] for bar in bars] == ["all", "a_broken.mp4", "b_street.mp4"], run.stderr
    assert all("100%" in bar for bar in bars), "a bar per file and one overall, on stderr"
    assert f"cannot read {folder / 'a_broken.mp4'}" in run.stderr
    incidents = read_json_lines(out)
    assert [(i["kind"], Path(i["file"]).name) for i in incidents] == [("motor_parking", "b_street.mp4")]
    assert "1 incident(s) in 1 of 2 file(s)" in run.stdout
    assert re.search(r"b_street\.mp4: 15 frame\(s\) detected in [\d.]+ s, [\d.]+x real time", run.stdout), \
        "each file read: its frames, time taken and real-time factor"


def test_start_and_end_cut_each_file_by_media_time(tmp_path: Path, pialin_street: Path, yolo_onnx: Path) -> None:
    site = write_site(tmp_path, str(pialin_street), yolo_onnx, CAR_ZONE)
    assert replay_incidents(site, pialin_street, "--origin", ORIGIN, "--end", "0:00:03") == [], \
        "3 s of the car is less than the dwell"
    [late] = replay_incidents(site, pialin_street, "--origin", ORIGIN, "--start", "2")
    assert 2 <= media_s(late, "first_seen") < 3, "the car is first seen where the replay starts"
    assert media_s(late) - media_s(late, "first_seen") >= DWELL_S


@pytest.mark.integration
def test_database_option_stores_the_incidents_in_postgresql(
        tmp_path: Path, pialin_street: Path, yolo_onnx: Path, pg_url: str) -> None:
    site = write_site(tmp_path, str(pialin_street), yolo_onnx, CAR_ZONE)
    [record] = replay_incidents(site, pialin_street, "--origin", ORIGIN, "--database", pg_url)
    with session_factory(make_engine(pg_url))() as session:
        [incident] = session.scalars(select(Incident)).all()
        actions = [event.action.value for event in session.scalars(select(IncidentEvent).order_by(IncidentEvent.id))]
    assert (incident.id, incident.camera_id, incident.zone, incident.kind, incident.worker_id) == \
        (record["incident_id"], "cam-07", "sidewalk", "motor_parking", "w-001")
    assert incident.confirmed_at == datetime.fromisoformat(record["confirmed_at"]), "the replayed media time"
    assert actions == ["detect", "dispatch"]
    assert not (tmp_path / "unused.db").exists(), "nothing went to the site's own database"


def test_realtime_speed_paces_frames_and_finds_the_same_incidents(
        tmp_path: Path, pialin_street: Path, yolo_onnx: Path) -> None:
    site = write_site(tmp_path, str(pialin_street), yolo_onnx, CAR_ZONE)
    fast = replay_incidents(site, pialin_street, "--origin", ORIGIN)
    started = time.monotonic()
    paced = replay_incidents(site, pialin_street, "--origin", ORIGIN, "--speed", "realtime")
    assert time.monotonic() - started >= CLIP_S - 1, "realtime takes at least the clip's length"
    same = ("kind", "zone", "object_kind", "track_id", "first_seen", "confirmed_at", "bbox", "grid_id", "worker_id")
    assert [{k: i[k] for k in same} for i in paced] == [{k: i[k] for k in same} for i in fast] != []


@pytest.mark.parametrize(("args", "message"), [
    (["no-such.mp4"], "no-such.mp4: no such file or folder"),
    (["{empty}"], "no video files in this folder"),
    (["{clip}", "--start", "5", "--end", "0:04"], "--end 4 s must be after --start 5 s"),
    (["{clip}", "--clips"], "--clips needs --report DIR"),
    (["{clip}", "--start", "1:75"], "minutes and seconds must be below 60"),
    (["{clip}", "--speed", "warp"], "invalid choice: 'warp'"),
])
def test_bad_arguments_are_usage_errors_named_clearly(
        tmp_path: Path, pialin_street: Path, yolo_onnx: Path, args: list[str], message: str) -> None:
    (tmp_path / "empty").mkdir()
    site = write_site(tmp_path, str(pialin_street), yolo_onnx, CAR_ZONE)
    run = aibrain_replay(site, *(a.format(clip=pialin_street, empty=tmp_path / "empty") for a in args))
    assert run.returncode == 2 and message in run.stderr, run.stderr


def test_ctrl_c_ends_the_replay_and_still_writes_what_was_found(
        tmp_path: Path, pialin_street: Path, yolo_onnx: Path) -> None:
    folder = tmp_path / "recordings"
    folder.mkdir()
    for name in ("1.mp4", "2.mp4"):
        (folder / name).symlink_to(pialin_street)
    site = write_site(tmp_path, str(pialin_street), yolo_onnx, CAR_ZONE)
    out, report = tmp_path / "incidents.jsonl", tmp_path / "report"
    replay = subprocess.Popen(
        [sys.executable, "-m", "aibrain", "replay", str(folder), "--config", str(site), "--camera", "cam-07",
         "--origin", ORIGIN, "--speed", "realtime", "--json", str(out), "--report", str(report), "--no-progress"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ | {"PYTHONUNBUFFERED": "1"},
        # As at a terminal: a test run started in the background (`cmd &`) would pass SIGINT on ignored.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert replay.stderr is not None
    for line in replay.stderr:  # the second file is opened once the first is done
        if f"connecting ({folder / '2.mp4'})" in line:
            break
    replay.send_signal(signal.SIGINT)
    stdout, stderr = replay.communicate(timeout=60)
    assert replay.returncode == 130, stderr
    assert f"{folder / '2.mp4'}: interrupted" in stderr
    assert [Path(i["file"]).name for i in read_json_lines(out)] == ["1.mp4"], "the first file's incident is kept"
    assert "interrupted" in (report / "report.html").read_text(encoding="utf-8")

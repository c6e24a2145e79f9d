"""An incident keeps its clean frame (issue 12, point 4): through the spool while the database is away, and
through the real path — `aibrain replay` of the street clip, the model, the rules, the evidence, the dispatcher —
into SQLite and PostgreSQL; the site's `evidence_frames: false` keeps only the snapshot."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import cv2
import pytest
import yaml
from sqlalchemy import select

from detector.evidence import detections_path, frame_path
from routing.incidents.database import make_engine, session_factory
from routing.incidents.spool import Spool, encode
from routing.incidents.tables import Incident
from tests.e2e.replay_site import replay_incidents, write_site
from tests.routing.helpers import violation


def test_the_spool_carries_the_frame_and_reads_lines_written_before_it(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    kept = dataclasses.replace(violation(), frame=Path("evidence/cam-01/7.frame.jpg"))
    spool.save([kept])
    assert spool.load() == [kept]

    older = json.loads(encode(kept))  # a line spooled by the version before frames
    del older["item"]["frame"]
    spool.path.write_text(json.dumps(older) + "\n", encoding="utf-8")
    assert spool.load() == [dataclasses.replace(kept, frame=None)]


def stored_incidents(database: str) -> list[Incident]:
    engine = make_engine(database)
    try:
        with session_factory(engine)() as session:
            return list(session.scalars(select(Incident)))
    finally:
        engine.dispose()


def test_a_replayed_incident_keeps_its_clean_frame_in_the_database(
        db_url: str, pialin_street: Path, yolo_onnx: Path, tmp_path: Path) -> None:
    site = write_site(tmp_path, pialin_street.as_uri(), yolo_onnx)
    records = replay_incidents(site, pialin_street, "--database", db_url)
    assert len(records) == 1, "the parked car"
    [incident] = stored_incidents(db_url)
    assert incident.snapshot is not None and incident.frame is not None
    assert incident.frame == str(frame_path(Path(incident.snapshot))), "stored as the snapshot is"
    assert Path(incident.frame).is_relative_to(tmp_path / "evidence")
    clean = cv2.imread(incident.frame)
    assert clean is not None and clean.shape[:2] == (240, 300)
    facts = json.loads(detections_path(Path(incident.snapshot)).read_text(encoding="utf-8"))
    assert facts["violation"]["id"] == incident.id and facts["violation"]["kind"] == "motor_parking"
    assert facts["violation"]["class_id"] == 2 and facts["class_names"]["2"] == "car"
    own = [d for d in facts["detections"] if d["xyxy"] == pytest.approx(incident.bbox, abs=0.01)]
    tracked = incident.track_id if incident.track_id >= 0 else None
    assert [(d["class_name"], d["track_id"]) for d in own] == [("car", tracked)]


def test_with_the_switch_off_the_incident_has_no_frame(pialin_street: Path, yolo_onnx: Path, tmp_path: Path) -> None:
    site = write_site(tmp_path, pialin_street.as_uri(), yolo_onnx)
    settings = yaml.safe_load(site.read_text(encoding="utf-8"))
    site.write_text(yaml.safe_dump({**settings, "evidence_frames": False}, allow_unicode=True), encoding="utf-8")
    database = f"sqlite:///{tmp_path / 'replay.db'}"
    assert len(replay_incidents(site, pialin_street, "--database", database)) == 1
    [incident] = stored_incidents(database)
    assert incident.snapshot is not None and Path(incident.snapshot).is_file() and incident.frame is None
    assert [p.name for p in (tmp_path / "evidence").rglob("*") if p.is_file()] == [Path(incident.snapshot).name]

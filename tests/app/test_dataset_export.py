"""`aibrain dataset export` on both database backends, from incidents made by the real routing code
(dispatch, then the worker's, the centre's and the camera's verdicts through the closed loop) whose
kept frames are real footage stills with the real detector's detections in their sidecars (C1):
the layout, each label file, the card's counts, the skipped and the rule errors, the refusals, and
Ultralytics' own check of the dataset."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import yaml
from sqlalchemy.orm import Session, sessionmaker

from aibrain.cli import main
from aibrain.dataset.sidecar import EvidenceMissing, read_kept_frame, sidecar_path
from aibrain.dataset.yolo_labels import iou
from detector.backends.backend_options import BackendOptions
from detector.backends.onnx_backend import OnnxBackend
from detector.detections import Detections
from detector.presence import PresenceResult, Verdict
from detector.violation import Violation
from routing.incidents.closed_loop import ClosedLoop
from routing.incidents.database import make_engine, session_factory
from routing.incidents.false_alarms import FalseAlarmReason
from routing.incidents.field_work import FieldWork
from routing.incidents.interventions import close_as_false_alarm
from routing.incidents.migrate import upgrade_to_head
from routing.incidents.tables import Incident
from routing.incidents.verification import VerificationPolicy, record_verdict
from tests.conftest import shared_asset
from tests.e2e.replay_site import write_site
from tests.routing.helpers import make_dispatcher, make_loop, make_topology

TOPOLOGY = make_topology("dataset")
DAY1 = datetime(2024, 6, 3, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai, the site's time zone
LABEL_CONF = 0.25


@dataclass(frozen=True)
class Still:
    image: np.ndarray
    detections: Detections
    class_names: dict[int, str]

    def best(self, class_name: str) -> int:
        """The index of the surest detection of `class_name`."""
        names = [self.class_names[int(c)] for c in self.detections.class_id]
        return max((i for i, name in enumerate(names) if name == class_name),
                   key=lambda i: float(self.detections.confidence[i]))


@pytest.fixture(scope="module")
def stills(yolo_onnx: Path) -> dict[str, Still]:
    """Street stills and everything the detector finds in them, down to confidence 0.1."""
    backend = OnnxBackend(yolo_onnx, BackendOptions(conf=0.1))
    found = {}
    for name in ("bagus_test_1.jpg", "zeyan_sharedbike_main1.jpg", "etoilesha_ebike_2024-01-01_12-07-27.png"):
        image = cv2.imread(str(shared_asset(f"footage/images/{name}")))
        assert image is not None, name
        (detections,) = backend.detect([image])
        found[name.split("_")[0]] = Still(image, detections, backend.class_names)
    return found


def keep_frame(site_dir: Path, violation: Violation, still: Still, relative: bool = True) -> Path:
    """What confirming keeps (contract C1): the clean frame as JPEG q95 and its `.dets.json` sidecar,
    beside where the snapshot goes; returns the frame's path as the database stores it."""
    day = violation.confirmed_at.date().isoformat()
    folder = site_dir / "evidence" / violation.camera_id / day
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{violation.confirmed_at:%H%M%S}.000_{violation.kind}_t{violation.track_id}"
    frame = folder / f"{stem}.frame.jpg"
    assert cv2.imwrite(str(frame), still.image, [cv2.IMWRITE_JPEG_QUALITY, 95])
    height, width = still.image.shape[:2]
    d = still.detections
    sidecar = {
        "version": 1, "camera_id": violation.camera_id, "ts": violation.confirmed_at.timestamp(),
        "frame_size": [width, height], "class_names": {str(k): v for k, v in still.class_names.items()},
        "detections": [{"class_id": int(c), "class_name": still.class_names[int(c)], "xyxy": [float(v) for v in box],
                        "confidence": float(p), "track_id": None}
                       for box, p, c in zip(d.xyxy, d.confidence, d.class_id, strict=True)],
        "violation": {"id": violation.id, "kind": violation.kind, "bbox": list(violation.bbox),
                      "class_id": next(k for k, v in still.class_names.items() if v == violation.class_name),
                      "object_count": violation.object_count}}
    (folder / f"{stem}.dets.json").write_text(json.dumps(sidecar), encoding="utf-8")
    return frame.relative_to(site_dir) if relative else frame


def confirm(site_dir: Path, still: Still, index: int, camera_id: str, at: datetime, kind: str,
            track_id: int, relative: bool = True) -> Violation:
    """The violation a rule confirms on detection `index` of the still, with its frame kept."""
    x1, y1, x2, y2 = (float(v) for v in still.detections.xyxy[index])
    class_name = still.class_names[int(still.detections.class_id[index])]
    bare = Violation(camera_id=camera_id, zone="sidewalk", kind=kind, object_kind="vehicle", class_name=class_name,
                     track_id=track_id, bbox=(x1, y1, x2, y2), confidence=float(still.detections.confidence[index]),
                     first_seen=at - timedelta(minutes=3), confirmed_at=at,
                     frame_size=(still.image.shape[1], still.image.shape[0]))
    frame = keep_frame(site_dir, bare, still, relative)
    return replace(bare, frame=frame, snapshot=frame.with_name(frame.name.replace(".frame.jpg", ".jpg")))


@dataclass(frozen=True)
class Field:
    """The routing parts that judge incidents, as the site's processes run them."""

    sessions: sessionmaker[Session]
    loop: ClosedLoop

    def act(self, incident_id: str, step: str, at: datetime, reason: FalseAlarmReason | None = None) -> None:
        with self.sessions() as session, session.begin():
            incident = session.get(Incident, incident_id)
            assert incident is not None
            if step == "resolve":
                FieldWork(self.loop).resolve(session, incident, "user:zhangsan", incident.worker_id, at, "已挪走", [])
            elif step in ("gone", "still there"):  # the camera's look after a resolve
                verdict = Verdict.GONE if step == "gone" else Verdict.STILL_THERE
                result = PresenceResult(incident.id, incident.camera_id, verdict, 10, 0 if step == "gone" else 10, 30)
                record_verdict(session, self.loop, incident, result, VerificationPolicy(), at)
            elif step == "worker false alarm":
                FieldWork(self.loop).false_alarm(session, incident, "user:zhangsan", at, reason or "other", None)
            elif step == "centre false alarm":
                close_as_false_alarm(self.loop, session, incident, reason or "other", "车停在划线车位内",
                                     "user:centre", at)
            else:
                raise AssertionError(step)


@dataclass(frozen=True)
class Made:
    site: Path
    ids: dict[str, str]  # role in the test -> incident id
    frames: dict[str, Path]  # role -> the kept frame's absolute path


def site_file(folder: Path, db_url: str) -> Path:
    """A site whose database is `db_url` (its camera and model are real files, as loading asks)."""
    folder.mkdir(exist_ok=True)
    return write_site(folder, str(shared_asset("footage/videos/pialin_street.mp4")),
                      shared_asset("models/yolov8n_coco_dq.onnx"), database=db_url)


def make_incidents(site_dir: Path, db_url: str, stills: dict[str, Still]) -> Made:
    """Eight incidents of two cameras over three days, each judged (or not) the way the field does."""
    site = site_file(site_dir, db_url)
    upgrade_to_head(db_url)
    engine = make_engine(db_url)
    sessions = session_factory(engine)
    dispatcher, field = make_dispatcher(sessions, TOPOLOGY), Field(sessions, make_loop(TOPOLOGY))
    bagus, zeyan, ebike = stills["bagus"], stills["zeyan"], stills["etoilesha"]
    plan = {  # role: still, object, camera, day, kind, how it is judged
        "verified": (bagus, bagus.best("car"), "cam-01", 0, "motor_parking", ["resolve", "gone"]),
        "resolved": (zeyan, zeyan.best("bicycle"), "cam-02", 1, "non_motor_parking", ["resolve"]),
        "reopened": (bagus, bagus.best("motorcycle"), "cam-01", 0, "non_motor_parking",
                     ["resolve", "still there", "resolve"]),
        "wrong object": (ebike, ebike.best("motorcycle"), "cam-02", 2, "non_motor_parking", ["worker false alarm"]),
        "rule error": (bagus, bagus.best("car"), "cam-01", 1, "motor_parking", ["centre false alarm"]),
        "no frame": (zeyan, zeyan.best("bicycle"), "cam-01", 2, "non_motor_parking", ["resolve", "gone"]),
        "open": (zeyan, zeyan.best("bicycle"), "cam-02", 2, "non_motor_parking", []),
        "too early": (bagus, bagus.best("car"), "cam-01", -3, "motor_parking", ["resolve", "gone"]),
    }
    reasons = {"wrong object": FalseAlarmReason.WRONG_OBJECT, "rule error": FalseAlarmReason.NOT_VIOLATION}
    ids, frames = {}, {}
    for track, (role, (still, index, camera, day, kind, steps)) in enumerate(plan.items()):
        at = DAY1 + timedelta(days=day, minutes=track)
        violation = confirm(site_dir, still, index, camera, at, kind, track, relative=role != "resolved")
        ids[role] = dispatcher.dispatch(violation).incident_id
        frames[role] = site_dir / violation.frame if violation.frame else Path()
        for n, step in enumerate(steps, start=1):
            field.act(ids[role], step, at + timedelta(minutes=10 * n), reasons.get(role))
    frames["no frame"].unlink()
    engine.dispose()
    return Made(site, ids, frames)


def export(made: Made, out: Path, *extra: str) -> int:
    return main(["dataset", "export", "--config", str(made.site), "--since", "2024-06-03", "--until", "2024-06-05",
                 "--out", str(out), *extra])


def label_lines(out: Path, split: str, incident_id: str) -> list[str]:
    (found,) = (out / "labels" / split).glob(f"*-{incident_id[:8]}.txt")
    return found.read_text(encoding="utf-8").splitlines()


def yolo_line(class_id: int, box: np.ndarray | tuple[float, ...], width: int, height: int) -> str:
    x1, y1, x2, y2 = (float(v) for v in box)
    return (f"{class_id} {(x1 + x2) / 2 / width:.6f} {(y1 + y2) / 2 / height:.6f} {(x2 - x1) / width:.6f} "
            f"{(y2 - y1) / height:.6f}")


def expected_lines(still: Still, index: int, keep: float, own: bool) -> set[str]:
    """Every detection at `keep` or more but the incident's object (one of its class covering its box),
    plus that object's own box when `own`."""
    d, (height, width) = still.detections, still.image.shape[:2]
    target, cls = d.xyxy[index], int(d.class_id[index])
    lines = {yolo_line(int(c), box, width, height) for box, p, c in zip(d.xyxy, d.confidence, d.class_id, strict=True)
             if p >= keep and not (int(c) == cls and iou(tuple(box), tuple(target)) >= 0.5)}
    return lines | ({yolo_line(cls, target, width, height)} if own else set())


def check_det_dataset(data_yaml: Path, tmp_path: Path) -> dict[str, object]:
    """Ultralytics' own check of the dataset, in a process of its own (its settings in tmp_path)."""
    if os.environ.get("CI") != "true":  # CI installs the extra: there a missing one must fail
        pytest.importorskip("ultralytics", reason="the Ultralytics extra is not installed")
    code = ("import json, sys; from ultralytics.data.utils import check_det_dataset; "
            "info = check_det_dataset(sys.argv[1], autodownload=False); "
            "print(json.dumps({'nc': info['nc'], 'names': info['names'], 'train': str(info['train']), "
            "'val': str(info['val'])}))")
    run = subprocess.run([sys.executable, "-c", code, str(data_yaml)], capture_output=True, text=True, timeout=300,
                         env=os.environ | {"YOLO_CONFIG_DIR": str(tmp_path / "ultralytics"), "YOLO_OFFLINE": "1"})
    assert run.returncode == 0, run.stderr[-3000:]
    return dict(json.loads(run.stdout.splitlines()[-1]))


def test_export_of_judged_incidents(db_url: str, stills: dict[str, Still], tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    made = make_incidents(tmp_path / "site", db_url, stills)
    out = tmp_path / "dataset"
    assert export(made, out) == 0
    printed = capsys.readouterr()
    ids = made.ids

    card = yaml.safe_load((out / "card.yaml").read_text(encoding="utf-8"))
    assert card["examples"] == {"positive": 2, "hard_negative": 1}
    assert card["images"] == {"train": 2, "val": 1}  # three camera-days, one held out whole
    assert card["per_kind"] == {"motor_parking": {"positive": 1, "rule_error": 1},
                                "non_motor_parking": {"hard_negative": 1, "positive": 1, "skipped": 1}}
    assert card["per_camera"] == {"cam-01 (东街口 1 号)": {"positive": 1, "rule_error": 1, "skipped": 1},
                                  "cam-02 (西街 2 号)": {"hard_negative": 1, "positive": 1}}
    assert card["false_alarm_reasons"] == {"not_violation": 1, "wrong_object": 1}
    assert card["statuses_in_range"] == {"dispatched": 1, "false_alarm": 2, "resolved": 2, "verified": 2}
    assert card["range"]["since"] == "2024-06-03T00:00:00+08:00"
    assert card["range"]["until"] == "2024-06-06T00:00:00+08:00"  # the whole of the --until day
    assert card["range"]["first_confirmed"] == "2024-06-03T10:00:00+08:00"
    assert card["command"].startswith(f"aibrain dataset export --config {made.site} --since 2024-06-03 ")
    assert card["model"]["class_names"][2] == "car" and card["model"]["classes"] == 80
    files = {row["incident"]: row for row in card["files"]}
    assert set(files) == {ids["verified"], ids["resolved"], ids["wrong object"]}, "reopened, open, early: none"

    # Each camera-day wholly in one split, every image with its label file.
    for split in ("train", "val"):
        images = sorted(p.stem for p in (out / "images" / split).iterdir())
        assert images == sorted(p.stem for p in (out / "labels" / split).iterdir() if p.suffix == ".txt")
    assert {row["image"].split("/")[1] for row in files.values()} == {"train", "val"}

    # The labels: a positive has its object's box and every detection at >= 0.25; a hard negative loses
    # the wrong object and keeps only the sure detections.
    bagus, zeyan, ebike = stills["bagus"], stills["zeyan"], stills["etoilesha"]
    split_of = {role: files[ids[role]]["image"].split("/")[1] for role in ("verified", "resolved", "wrong object")}
    verified = label_lines(out, split_of["verified"], ids["verified"])
    assert set(verified) == expected_lines(bagus, bagus.best("car"), LABEL_CONF, own=True)
    assert len(verified) == len(set(verified)) > 5  # the other cars, motorcycles and people too
    resolved = label_lines(out, split_of["resolved"], ids["resolved"])
    assert set(resolved) == expected_lines(zeyan, zeyan.best("bicycle"), LABEL_CONF, own=True)
    negative = label_lines(out, split_of["wrong object"], ids["wrong object"])
    assert set(negative) == expected_lines(ebike, ebike.best("motorcycle"), 0.5, own=False)
    assert negative and all(not line.startswith("39 ") for line in negative), "the unsure bottle is no label"

    # The frame is copied as kept.
    image = next((out / "images" / split_of["verified"]).glob(f"*-{ids['verified'][:8]}.jpg"))
    assert image.read_bytes() == made.frames["verified"].read_bytes()

    # A missing frame: skipped, counted, and named in one warning line.
    assert card["skipped"][0]["incident"] == ids["no frame"]
    warnings = [line for line in printed.err.splitlines() if line.startswith("warning:")]
    assert warnings == [f"warning: incident {ids['no frame']} (cam-01, 2024-06-05T10:05:00+08:00): frame "
                        f"{made.frames['no frame']} is missing; skipped"]
    assert "exported 3 images (2 train, 1 val): 2 positive, 1 hard negative; 1 skipped; 1 rule errors" in printed.out

    # The rule error: no image, listed as a negative for incident-level truth.
    stub = yaml.safe_load((out / "eval_truth_stub.yaml").read_text(encoding="utf-8"))
    (negative_row,) = stub["negatives"]
    assert negative_row["incident"] == ids["rule error"] and negative_row["camera"] == "cam-01"
    assert negative_row["reason"] == "not_violation" and "车停在划线车位内" in negative_row["note"]
    assert negative_row["confirmed_at"] == "2024-06-04T10:04:00+08:00"
    card_md = (out / "card.md").read_text(encoding="utf-8")
    assert "| non_motor_parking | 1 | 1 | 0 | 1 |" in card_md and ids["no frame"] in card_md

    data = yaml.safe_load((out / "data.yaml").read_text(encoding="utf-8"))
    assert data["path"] == str(out.resolve()) and (data["train"], data["val"]) == ("images/train", "images/val")
    assert len(data["names"]) == 80 and data["names"][0] == "person"
    checked = check_det_dataset(out / "data.yaml", tmp_path)
    assert checked["nc"] == 80 and checked["val"] == str(out.resolve() / "images" / "val")


def test_the_output_folder_is_refused_unless_new_empty_or_a_forced_previous_export(
        stills: dict[str, Still], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    made = make_incidents(tmp_path / "site", f"sqlite:///{tmp_path / 'aibrain.db'}", stills)
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine", encoding="utf-8")
    assert export(made, busy) == 2 and export(made, busy, "--force") == 2
    assert f"--out {busy} is not empty and holds no dataset export" in capsys.readouterr().err
    assert [p.name for p in busy.iterdir()] == ["notes.txt"]

    out = tmp_path / "out"
    out.mkdir()  # empty: fine
    assert export(made, out) == 0
    capsys.readouterr()
    assert export(made, out) == 2
    assert f"--out {out} holds a previous export; add --force" in capsys.readouterr().err
    (out / "images" / "train" / "stale.jpg").write_bytes(b"old")
    assert export(made, out, "--force") == 0
    assert not (out / "images" / "train" / "stale.jpg").exists()
    assert sum(1 for _ in out.glob("images/*/*.jpg")) == 3


@pytest.mark.parametrize(("args", "message"), [
    (["--since", "yesterday"], "argument --since: 'yesterday' is not a date like 2026-05-01"),
    (["--since", "2024-06-05", "--until", "2024-06-03"], "--until 2024-06-03 is not after --since 2024-06-05"),
    (["--since", "2024-06-03", "--label-conf", "0"], "argument --label-conf: give a confidence above 0"),
    (["--since", "2024-06-03", "--val-share", "1"], "argument --val-share: give a share from 0 up to"),
])
def test_bad_arguments_are_refused_with_exit_2(args: list[str], message: str, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    site = site_file(tmp_path, f"sqlite:///{tmp_path / 'a.db'}")
    upgrade_to_head(f"sqlite:///{tmp_path / 'a.db'}")
    with pytest.raises(SystemExit) as exit_info:
        code = main(["dataset", "export", "--config", str(site), "--out", str(tmp_path / "out"), *args])
        raise SystemExit(code)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_database_not_migrated_or_missing_is_told_not_created(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nowhere.db"
    site = site_file(tmp_path, f"sqlite:///{missing}")
    args = ["dataset", "export", "--config", str(site), "--since", "2024-06-03", "--out", str(tmp_path / "out")]
    assert main(args) == 2
    assert f"database sqlite:///{missing} of {site}: no such file" in capsys.readouterr().err
    assert not missing.exists()
    sqlite3.connect(missing).close()  # an empty file: no schema at all
    assert main(args) == 2
    told = capsys.readouterr().err
    assert "its schema is at revision (none: no tables), the export needs 0007" in told
    assert f"run `aibrain db upgrade --config {site}` first" in told


def test_a_range_without_judged_incidents_writes_the_card_and_no_data_yaml(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    upgrade_to_head(url)
    site = site_file(tmp_path / "site", url)
    out = tmp_path / "out"
    assert main(["dataset", "export", "--config", str(site), "--since", "2026-05-01", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "exported 0 images (0 train, 0 val)" in printed and "no image to train on: no data.yaml written" in printed
    card = yaml.safe_load((out / "card.yaml").read_text(encoding="utf-8"))
    assert card["complete"] is True and card["examples"] == {} and card["statuses_in_range"] == {}
    assert not (out / "data.yaml").exists()


@pytest.mark.parametrize(("change", "message"), [
    (lambda s: s | {"version": 2}, "version: Input should be 1"),
    (lambda s: s | {"frame_size": [640, 480]}, "is 640x427, its sidecar "),
    (lambda s: s | {"detections": [*s["detections"], s["detections"][0] | {"class_id": 99}]},
     "class ids [99] are not in class_names"),
    (lambda s: s | {"violation": s["violation"] | {"id": "another"}}, "describes violation another of cam-01"),
    (lambda s: s | {"violation": s["violation"] | {"class_id": None}}, "violation.class_id: Input should be"),
])
def test_a_sidecar_that_does_not_fit_is_named_with_its_field(
        change: Callable[[dict[str, Any]], dict[str, Any]], message: str, stills: dict[str, Still],
        tmp_path: Path) -> None:
    violation = confirm(tmp_path, stills["bagus"], 0, "cam-01", DAY1, "motor_parking", 1, relative=False)
    assert violation.frame is not None
    assert read_kept_frame(violation.frame, violation.id, "cam-01").sidecar.frame_size == (640, 427)
    sidecar = sidecar_path(violation.frame)
    sidecar.write_text(json.dumps(change(json.loads(sidecar.read_text(encoding="utf-8")))), encoding="utf-8")
    with pytest.raises(EvidenceMissing, match=re.escape(message)) as refused:
        read_kept_frame(violation.frame, violation.id, "cam-01")
    assert str(sidecar) in str(refused.value)

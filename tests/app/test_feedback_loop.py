"""The feedback loop of issue 12, end to end with the real commands: incidents confirmed by `aibrain replay`
(which keeps each one's clean frame and detections), judged by the field through the routing code (two
verified by the camera after a worker's resolve, one closed as the wrong object), `aibrain dataset export`,
Ultralytics' check of the dataset, `aibrain models train` (1 epoch, 160 px), `aibrain models eval` of the
base and the new model, `aibrain models export` of the new one, and `aibrain eval incidents` of both on
the same truth. The figures of both models are printed side by side; the test asserts that the loop ran
and its outputs are valid, not that a one-epoch model is better."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from aibrain.dataset.yolo_labels import iou
from routing.incidents.database import make_engine, session_factory
from routing.incidents.false_alarms import FalseAlarmReason
from tests.app.test_dataset_export import Field, check_det_dataset
from tests.app.test_model_training import aibrain, models_env  # noqa: F401  (a fixture, used below)
from tests.e2e.replay_site import replay_incidents, write_site
from tests.routing.helpers import make_loop, make_topology

pytestmark = pytest.mark.e2e

DAYS = ("2026-05-01", "2026-05-02", "2026-05-03")  # one replay a day: three camera-days to split
VERDICTS = ("verified", "verified", "wrong object")
NAME, IMGSZ = "field-loop", 160
PIALIN_SIZE = (300, 240)  # the clip's width and height
TRUTH = {"version": 1, "files": [{  # the parked Peugeot of pialin_street.mp4 (as tests/eval/truth has it)
    "file": "pialin_street.mp4",
    "objects": [{"id": "peugeot", "kind": "motor_parking", "zone": "sidewalk", "stands": [0.0, None],
                 "box": [0.50, 0.40, 1.0, 0.80]}]}]}


def judge(db_url: str, records: list[dict[str, Any]]) -> None:
    """The field's verdicts through the routing code: resolve + the camera's look (gone), or a worker's
    false alarm of the wrong object."""
    engine = make_engine(db_url)
    field = Field(session_factory(engine), make_loop(make_topology("loop")))
    try:
        for record, verdict in zip(records, VERDICTS, strict=True):
            at = record["confirmed_at"] + timedelta(minutes=5)
            if verdict == "verified":
                field.act(record["incident_id"], "resolve", at)
                field.act(record["incident_id"], "gone", at + timedelta(minutes=5))
            else:
                field.act(record["incident_id"], "worker false alarm", at, FalseAlarmReason.WRONG_OBJECT)
    finally:
        engine.dispose()


def run_ok(env: dict[str, str], *args: str) -> str:
    run = aibrain(env, *args)
    assert run.returncode == 0, f"aibrain {' '.join(args)}:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    return run.stdout


def side_by_side(before: dict[str, Any], after: dict[str, Any], base_eval: dict[str, Any],
                 new_eval: dict[str, Any]) -> str:
    rows = [("mAP50 (models eval, val split)", before["map50"], after["map50"]),
            ("mAP50-95", before["map50_95"], after["map50_95"])]
    rows += [(f"incidents {key}", base_eval["overall"][key], new_eval["overall"][key])
             for key in ("tp", "fp", "fn", "precision", "recall", "f1")]
    width = max(len(label) for label, *_ in rows)

    def shown(value: float | None) -> str:
        return "-" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)

    lines = [f"{'':{width}}  {'base yolov8n':>12}  {NAME:>12}"]
    lines += [f"{label:{width}}  {shown(a):>12}  {shown(b):>12}" for label, a, b in rows]
    return "\n".join(lines)


def test_field_feedback_trains_a_model_that_is_evaluated_before_and_after(
        models_env: dict[str, str], yolo_onnx: Path, pialin_street: Path, tmp_path: Path) -> None:  # noqa: F811
    started = time.monotonic()
    db_url = f"sqlite:///{tmp_path / 'site.db'}"
    site = write_site(tmp_path, str(pialin_street), yolo_onnx, database=db_url)
    records = []
    for day in DAYS:
        (record,) = replay_incidents(site, pialin_street, "--database", db_url, "--origin", f"{day}T09:00:00+08:00")
        records.append(record | {"confirmed_at": datetime.fromisoformat(record["confirmed_at"])})
    frames = sorted((tmp_path / "evidence").rglob("*.frame.jpg"))
    assert len(frames) == 3 and len(list((tmp_path / "evidence").rglob("*.dets.json"))) == 3
    judge(db_url, records)

    out = tmp_path / "dataset"
    printed = run_ok(models_env, "dataset", "export", "--config", str(site), "--since", DAYS[0], "--out", str(out))
    assert "exported 3 images" in printed and "2 positive, 1 hard negative; 0 skipped" in printed
    card = yaml.safe_load((out / "card.yaml").read_text(encoding="utf-8"))
    assert card["images"]["train"] >= 1 and card["images"]["val"] >= 1
    checked = check_det_dataset(out / "data.yaml", tmp_path)
    assert checked["nc"] == 80, "the model's whole class map: a fine-tune keeps COCO's heads"
    # The parked car is labelled in the verified frames and is background in the wrong object's.
    for record, verdict in zip(records, VERDICTS, strict=True):
        (labels,) = out.glob(f"labels/*/*-{record['incident_id'][:8]}.txt")
        car = [line for line in labels.read_text(encoding="utf-8").splitlines()
               if line.startswith("2 ") and _overlaps(line, record["bbox"], PIALIN_SIZE)]
        assert len(car) == (1 if verdict == "verified" else 0), (verdict, labels.read_text())

    models = tmp_path / "models"
    data = str(out / "data.yaml")
    base = ("yolov8n", "--model-dir", str(yolo_onnx.parent))
    run_ok(models_env, "models", "train", "--data", data, "--base", "yolov8n", "--model-dir", str(yolo_onnx.parent),
           "--epochs", "1", "--imgsz", str(IMGSZ), "--batch", "4", "--name", NAME, "--out", str(models))
    card_file = models / f"{NAME}.yaml"
    run_ok(models_env, "models", "eval", *base, "--data", data, "--json", str(tmp_path / "before.json"))
    run_ok(models_env, "models", "eval", str(card_file), "--data", data, "--json", str(tmp_path / "after.json"))
    before, after = (json.loads((tmp_path / f"{n}.json").read_text(encoding="utf-8")) for n in ("before", "after"))
    for metrics in (before, after):
        assert 0 <= metrics["map50_95"] <= metrics["map50"] + 1e-9 <= 1 + 1e-9  # Ultralytics' sums round
    exported = tmp_path / "onnx"
    assert "80 classes, input 160x160" in run_ok(models_env, "models", "export", str(card_file), "--out", str(exported))

    truth = tmp_path / "truth.yaml"
    truth.write_text(yaml.safe_dump(TRUTH), encoding="utf-8")
    new_site_dir = tmp_path / "new-site"
    new_site_dir.mkdir()
    new_site = write_site(new_site_dir, str(pialin_street), exported / f"{NAME}.onnx")
    config = yaml.safe_load(new_site.read_text(encoding="utf-8")) | {"model_card": str(card_file)}
    new_site.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    figures = {}
    for which, config_file in (("base", site), ("new", new_site)):
        json_out = tmp_path / f"incidents-{which}.json"
        run_ok(models_env, "eval", "incidents", str(pialin_street), "--truth", str(truth), "--config",
               str(config_file), "--camera", "cam-07", "--json", str(json_out), "--no-progress")
        figures[which] = json.loads(json_out.read_text(encoding="utf-8"))
        overall = figures[which]["overall"]
        assert overall["tp"] + overall["fn"] == 1 and overall["tp"] + overall["fp"] >= 0
    assert figures["base"]["overall"]["tp"] == 1, "the base model confirms the parked car, as the replays did"

    print(f"\nfeedback loop in {time.monotonic() - started:.0f} s: {card['images']} images, "
          f"{card['examples']}\n{side_by_side(before, after, figures['base'], figures['new'])}")


def _overlaps(line: str, bbox: list[float], size: tuple[int, int]) -> bool:
    _, cx, cy, w, h = (float(v) for v in line.split())
    box = ((cx - w / 2) * size[0], (cy - h / 2) * size[1], (cx + w / 2) * size[0], (cy + h / 2) * size[1])
    return iou(box, (bbox[0], bbox[1], bbox[2], bbox[3])) >= 0.9

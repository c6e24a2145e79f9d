"""`aibrain eval incidents` on real footage: the parked car of pialin_street.mp4 (confirmed at 4.0 s after the
site's 4 s dwell) scored against truth that names it, against truth whose window cannot match, and per file
with each entry's own media range; the JSON as pinned, the printed table, and the HTML report."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.replay_site import write_site

PEUGEOT = {"id": "peugeot", "kind": "motor_parking", "zone": "sidewalk", "stands": [0.0, None],
           "box": [0.52, 0.44, 0.99, 0.76]}
FIGURE_KEYS = ["tp", "fp", "fn", "duplicates", "precision", "recall", "f1", "ttc_median_s", "ttc_p90_s"]


def evaluate(tmp_path: Path, model: Path, files: list[Path], entries: list[dict[str, Any]],
             *options: str | Path) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    site = write_site(tmp_path, str(files[0]), model)
    truth = tmp_path / "truth.yaml"
    truth.write_text(yaml.safe_dump({"version": 1, "files": entries}), encoding="utf-8")
    out = tmp_path / "figures.json"
    run = subprocess.run([sys.executable, "-m", "aibrain", "eval", "incidents", "--truth", str(truth),
                          *map(str, files), "--config", str(site), "--camera", "cam-07", "--json", str(out),
                          "--no-progress", *map(str, options)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    return run, json.loads(out.read_text(encoding="utf-8"))


@pytest.mark.parametrize("picture", [[], ["--full-size-detect"]], ids=["shrunk", "full-size"])
def test_the_parked_car_named_in_the_truth_is_confirmed_right(
        tmp_path: Path, pialin_street: Path, yolo_onnx: Path, picture: list[str]) -> None:
    run, figures = evaluate(tmp_path, yolo_onnx, [pialin_street],
                            [{"file": "pialin_street.mp4", "objects": [PEUGEOT]}], *picture)
    assert (figures["truth"], figures["camera"], figures["files"]) == \
        (str(tmp_path / "truth.yaml"), "cam-07", [str(pialin_street)])
    parking = figures["kinds"]["motor_parking"]
    assert list(parking) == FIGURE_KEYS
    assert parking == figures["overall"] == {"tp": 1, "fp": 0, "fn": 0, "duplicates": 0, "precision": 1.0,
                                             "recall": 1.0, "f1": 1.0, "ttc_median_s": 0.0, "ttc_p90_s": 0.0}
    assert figures["false_alarms"] == [] and figures["misses"] == []
    assert re.search(r"motor_parking\s+│\s+1\s+│\s+0\s+│\s+0\s+│\s+0\s+│\s+1\.000\s+│\s+1\.000", run.stdout), \
        run.stdout


def test_a_window_that_cannot_match_gives_a_miss_and_a_false_alarm_shown_in_the_report(
        tmp_path: Path, pialin_street: Path, yolo_onnx: Path) -> None:
    report = tmp_path / "report"
    run, figures = evaluate(tmp_path, yolo_onnx, [pialin_street],
                            [{"file": "pialin_street.mp4", "objects": [PEUGEOT | {"confirm_window": [6.0, 7.0]}]}],
                            "--report", report)
    assert figures["overall"] == {"tp": 0, "fp": 1, "fn": 1, "duplicates": 0, "precision": 0.0, "recall": 0.0,
                                  "f1": 0.0, "ttc_median_s": None, "ttc_p90_s": None}
    [alarm] = figures["false_alarms"]
    assert (alarm["file"], alarm["kind"], alarm["media_time_s"], alarm["why"], alarm["object"]) == \
        (str(pialin_street), "motor_parking", 4.0, "outside its window", "peugeot")
    assert Path(alarm["snapshot"]).is_file() and Path(alarm["snapshot"]).is_relative_to(report / "evidence")
    assert figures["misses"] == [{"file": str(pialin_street), "object": "peugeot", "kind": "motor_parking",
                                  "window": [6.0, 7.0]}]
    assert "false alarm: pialin_street.mp4 motor_parking at 4.0 s: outside its window (peugeot)" in run.stdout
    assert "miss: pialin_street.mp4 peugeot (motor_parking) not confirmed in 6.0–7.0 s" in run.stdout
    assert f"report: {report / 'evaluation.html'}" in run.stdout

    page = (report / "evaluation.html").read_text(encoding="utf-8")
    assert 'id="false-alarm-1"' in page and "outside its window" in page and alarm["incident_id"] in page
    assert re.search(r"object <code>peugeot</code>:\s+应确认 confirm in 0:00:06\.0 – 0:00:07\.0", page), "its window"
    assert 'id="miss-1"' in page and "<b>peugeot</b>" in page
    linked = re.findall(r'<a href="([^"]+\.jpg)"><img class="thumb" src="data:image/jpeg;base64,', page)
    assert len(linked) == 2 and all((report / picture).is_file() for picture in linked), linked
    assert "misses/0001_motor_parking.jpg" in linked
    assert json.loads((report / "evaluation.json").read_text(encoding="utf-8")) == figures
    assert (report / "report.html").is_file() and (report / "incidents.csv").is_file(), "the replay's report beside"


def test_each_file_is_replayed_alone_in_its_own_range(tmp_path: Path, pialin_street: Path, yolo_onnx: Path) -> None:
    """Two names for the clip: the second is evaluated for 3 s only, too short for the 4 s dwell, so the car
    expects no incident there, and none comes (nothing carries over from the first file)."""
    whole, start = tmp_path / "a_whole.mp4", tmp_path / "b_start.mp4"
    whole.symlink_to(pialin_street)
    start.symlink_to(pialin_street)
    _, figures = evaluate(tmp_path, yolo_onnx, [whole, start],
                          [{"file": "b_start.mp4", "range": [0, 3.0], "objects": [PEUGEOT]},
                           {"file": "a_whole.mp4", "objects": [PEUGEOT]}])
    assert figures["files"] == [str(whole), str(start)]
    assert figures["overall"]["tp"] == 1 and figures["overall"]["fp"] == 0 and figures["overall"]["fn"] == 0

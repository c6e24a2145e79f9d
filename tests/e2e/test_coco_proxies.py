"""COCO-proxy rules on real street footage, through `aibrain replay`: the street-vending proxy (a
standing shade with people at it) fires over the market stalls of pialin_street.mp4 and nowhere
else; the out-of-store proxy fires over the planter outside the shops of dyh_unbox_test.mp4."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.e2e.site import write_grids

pytestmark = pytest.mark.e2e

ORIGIN = "2026-05-01T09:00:00+08:00"
MARKET = [[0.0, 0.10], [0.62, 0.10], [0.62, 0.36], [0.0, 0.36]]  # the row of market stalls, top left
CROSSING = [[0.40, 0.30], [0.75, 0.30], [0.75, 0.50], [0.40, 0.50]]  # where a pedestrian walks by under an umbrella
KERB = [[0.50, 0.60], [1.0, 0.60], [1.0, 1.0], [0.50, 1.0]]  # the parked car's kerb
PLANTER = [[0.20, 0.05], [0.40, 0.05], [0.40, 0.35], [0.20, 0.35]]  # before the shop fronts, top left
PAVEMENT = [[0.0, 0.60], [1.0, 0.60], [1.0, 1.0], [0.0, 1.0]]  # open pavement people walk over


def replay(folder: Path, clip: Path, model: Path, polygon: list[list[float]], rule: dict, **site: object) -> list[dict]:
    folder.mkdir(parents=True, exist_ok=True)
    write_grids(folder / "grids.geojson")
    config = {
        "database": f"sqlite:///{folder / 'unused.db'}", "model": str(model), "grids": "grids.geojson",
        "evidence_dir": "evidence",
        "workers": [{"id": "w-001", "name": "张伟", "grids": ["G-01"], "shifts": ["Mon-Sun 00:00-24:00"]}],
        "cameras": [{"id": "cam-07", "name": "广场路口", "url": str(clip), "detect_fps": 4, "decode": "sampled",
                     "zones": [{"name": "watched", "grid": "G-01", "tags": ["street"], "polygon": polygon}]}],
        "rules": [{"zone_tags": ["street"], **rule}], **site,
    }
    (folder / "site.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    out = folder / "incidents.jsonl"
    run = subprocess.run([sys.executable, "-m", "aibrain", "replay", str(clip), "--config", str(folder / "site.yaml"),
                          "--camera", "cam-07", "--json", str(out), "--origin", ORIGIN, "--no-progress"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


# The clip is 7.5 s at 300 x 240: the rule's clock is shortened to fit, and the low-resolution
# vendors are scored low, so the site lowers the person filter for this camera.
VENDING = {"kind": "street_vending", "dwell_s": 3, "settle_s": 1, "min_confidence": 0.15, "lost_tolerance_s": 3}
LOW_RESOLUTION = {"detector": {"confidence": 0.15}, "object_filters": {"person": {"min_confidence": 0.15}}}


def test_street_vending_proxy_fires_over_the_market_stalls(tmp_path: Path, pialin_street: Path,
                                                           yolo_onnx: Path) -> None:
    (incident,) = replay(tmp_path, pialin_street, yolo_onnx, MARKET, VENDING, **LOW_RESOLUTION)
    assert (incident["kind"], incident["kind_label_zh"], incident["zone"]) == ("street_vending", "乱摆卖", "watched")
    assert incident["object_kind"] == "umbrella" and incident["object_count"] >= 3, "shades and people together"
    x1, y1, x2, y2 = incident["bbox"]
    assert x2 <= 0.7 * 300 and y2 <= 0.4 * 240, "the box lies over the stalls"
    assert 3 <= incident["media_time_s"] <= 7.5
    assert Path(incident["snapshot"]).is_file()


@pytest.mark.parametrize("polygon", [CROSSING, KERB], ids=["a passing umbrella", "a parked car"])
def test_street_vending_proxy_stays_silent_elsewhere(tmp_path: Path, pialin_street: Path, yolo_onnx: Path,
                                                     polygon: list[list[float]]) -> None:
    assert replay(tmp_path, pialin_street, yolo_onnx, polygon, VENDING, **LOW_RESOLUTION) == []


OUT_OF_STORE = {"kind": "out_of_store", "dwell_s": 4, "settle_s": 1, "lost_tolerance_s": 3, "min_confidence": 0.25}


def test_out_of_store_proxy_fires_over_the_planter_and_not_on_open_pavement(tmp_path: Path, unbox_1080p: Path,
                                                                             yolo_onnx: Path) -> None:
    (incident,) = replay(tmp_path / "planter", unbox_1080p, yolo_onnx, PLANTER, OUT_OF_STORE)
    assert (incident["kind"], incident["kind_label_zh"]) == ("out_of_store", "超门店经营")
    assert incident["object_kind"] == "potted_plant"
    assert replay(tmp_path / "pavement", unbox_1080p, yolo_onnx, PAVEMENT, OUT_OF_STORE) == []

"""The one-camera site the benchmark scripts replay a clip through: a zone over the whole frame and
both parking rules, so the tracker, rules and dispatcher do their usual work on every frame."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml


def write_site(folder: Path, clip: Path, model: Path, decode: str, detect_fps: float | None = None) -> Path:
    """Writes site.yaml (camera id `bench`) and its grids into `folder`, a new directory."""
    folder.mkdir(parents=True)
    grids = {"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"id": "G-01", "name": "bench", "street": "外滩街道", "community": "汇丰社区"},
        "geometry": {"type": "Polygon", "coordinates": [[[121.47, 31.23], [121.48, 31.23], [121.48, 31.24],
                                                         [121.47, 31.23]]]}}]}
    (folder / "grids.geojson").write_text(json.dumps(grids), encoding="utf-8")
    camera: dict[str, Any] = {"id": "bench", "name": "bench", "url": str(clip), "decode": decode,
              "zones": [{"name": "all", "grid": "G-01", "tags": ["street"],
                         "polygon": [[0, 0], [1, 0], [1, 1], [0, 1]]}]}
    if detect_fps is not None:
        camera["detect_fps"] = detect_fps
    site = {"database": f"sqlite:///{folder / 'bench.db'}", "model": str(model), "grids": "grids.geojson",
            "evidence_dir": "evidence",
            "workers": [{"id": "w-001", "name": "bench", "grids": ["G-01"], "shifts": ["Mon-Sun 00:00-24:00"]}],
            "cameras": [camera],
            "rules": [{"kind": "non_motor_parking", "zone_tags": ["street"], "dwell_s": 2},
                      {"kind": "motor_parking", "zone_tags": ["street"], "dwell_s": 2}]}
    path = folder / "site.yaml"
    path.write_text(yaml.safe_dump(site, allow_unicode=True), encoding="utf-8")
    return path

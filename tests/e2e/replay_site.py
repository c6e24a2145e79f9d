"""The site and the `aibrain replay` call shared by the replay tests: one camera over a street clip whose
zone holds the parked car of `pialin_street.mp4` (one motor_parking incident after a 4 s dwell)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from tests.e2e.site import write_grids

ORIGIN = "2026-05-01T09:00:00+08:00"
CAR_ZONE = [[0.45, 0.50], [1.0, 0.50], [1.0, 0.92], [0.45, 0.92]]  # the sidewalk where the car stands
SKY_ZONE = [[0.0, 0.0], [1.0, 0.0], [1.0, 0.12], [0.0, 0.12]]
DWELL_S = 4


def write_site(folder: Path, camera_url: str, model: Path, polygon: list[list[float]] = CAR_ZONE,
               database: str | None = None) -> Path:
    write_grids(folder / "grids.geojson")
    site = {
        "database": database or f"sqlite:///{folder / 'unused.db'}", "model": str(model), "grids": "grids.geojson",
        "evidence_dir": "evidence",
        "workers": [{"id": "w-001", "name": "张伟", "grids": ["G-01"], "shifts": ["Mon-Sun 00:00-24:00"]}],
        "cameras": [{"id": "cam-07", "name": "广场路口", "url": camera_url, "detect_fps": 2, "decode": "sampled",
                     "zones": [{"name": "sidewalk", "grid": "G-01", "tags": ["no_parking_motor"],
                                "polygon": polygon}]}],
        "rules": [{"kind": "motor_parking", "zone_tags": ["no_parking_motor"], "dwell_s": DWELL_S}],
    }
    path = folder / "site.yaml"
    path.write_text(yaml.safe_dump(site, allow_unicode=True), encoding="utf-8")
    return path


def aibrain_replay(site: Path, *args: str | Path, progress: bool = False,
                   timeout_s: float = 300) -> subprocess.CompletedProcess[str]:
    quiet = [] if progress else ["--no-progress"]
    return subprocess.run([sys.executable, "-m", "aibrain", "replay", *map(str, args), "--config", str(site),
                           "--camera", "cam-07", *quiet], capture_output=True, text=True, timeout=timeout_s)


def replay_incidents(site: Path, *args: str | Path) -> list[dict[str, Any]]:
    """Incident records of a replay that must succeed (`args`: files, folders and options)."""
    out = site.parent / "incidents.jsonl"
    run = aibrain_replay(site, *args, "--json", out)
    assert run.returncode == 0, run.stderr[-3000:]
    return read_json_lines(out)


def read_json_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]

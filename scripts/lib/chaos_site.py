"""The chaos run's footage and site: parked bikes that come and go, so violations keep coming.

The clip is a still of parked shared bikes, sharp for `visible_s`, then blurred past recognition
for `hidden_s` (a blur, not a black frame: the reader drops blank pictures as unusable). Looped by
the RTSP server, every bike leaves for longer than the rule's `lost_tolerance_s` and comes back as
a new standing object, so each loop confirms new violations on every camera. Each camera has two
zones: the gate (the near bike) and the back (the bikes behind); the zones' grids send alerts to
two workers and, for the last camera's back zone, to a grid whose worker is off duty for the next
hours (the fallback queue).
"""

from __future__ import annotations

import json
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

QUEUE_PREFIX = "chaos"
WORKERS = {"w-01": "G-01", "w-02": "G-02", "w-03": "G-03"}  # worker -> their grid; w-03 is off duty
OFF_DUTY_WORKER = "w-03"
TIMEZONE = "Asia/Shanghai"
GATE_ZONE = [[0.0, 0.5], [1.0, 0.5], [1.0, 1.0], [0.0, 1.0]]  # the near bike stands here
BACK_ZONE = [[0.0, 0.0], [1.0, 0.0], [1.0, 0.5], [0.0, 0.5]]  # the bikes behind it
DWELL_S = 3.0
# Longer than the gap between two frames of a camera on a busy machine (else a bike is forgotten
# between frames and its dwell never adds up), shorter than the hidden part of the clip (so a bike
# that comes back is a new one).
LOST_TOLERANCE_S = 5.0
ORIGIN = (121.470, 31.230)


def make_clip(image: Path, out: Path, visible_s: float = 12.0, hidden_s: float = 10.0, fps: int = 10) -> Path:
    """An H.264 MP4 of `image`: sharp for `visible_s`, then blurred for `hidden_s`; a keyframe a second."""
    blur = f"boxblur=40:5:enable='gte(t,{visible_s})'"
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-loop", "1", "-framerate", str(fps),
                    "-i", str(image), "-t", f"{visible_s + hidden_s}",
                    "-vf", f"scale=trunc(iw/2)*2:trunc(ih/2)*2,{blur}", "-r", str(fps), "-g", str(fps),
                    "-keyint_min", str(fps), "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
                    "-sc_threshold", "0", "-bf", "0", "-movflags", "+faststart", str(out)], check=True)
    return out


def camera_ids(count: int) -> list[str]:
    return [f"cam-{index:02d}" for index in range(1, count + 1)]


def zone_grids(index: int, count: int) -> dict[str, str]:
    """Gate and back zones of the `index`th camera (0-based) -> their grids."""
    back = "G-03" if index == count - 1 else ("G-02", "G-01")[index % 2]
    return {"gate": ("G-01", "G-02")[index % 2], "back": back}


def shift(worker: str) -> str:
    """All day, or for the off-duty worker an hour that starts 12 hours from now (local time)."""
    if worker != OFF_DUTY_WORKER:
        return "Mon-Sun 00:00-24:00"
    start = (datetime.now(ZoneInfo(TIMEZONE)).hour + 12) % 24
    return f"Mon-Sun {start:02d}:00-{start + 1:02d}:00"


def write_grids(path: Path) -> None:
    lon, lat = ORIGIN
    size = 0.005
    features = [{"type": "Feature",
                 "properties": {"id": f"G-0{n}", "name": f"chaos {n}", "street": "外滩街道", "community": community},
                 "geometry": {"type": "Polygon", "coordinates": [[
                     [lon + n * size, lat], [lon + (n + 1) * size, lat], [lon + (n + 1) * size, lat + size],
                     [lon + n * size, lat + size], [lon + n * size, lat]]]}}
                for n, community in ((1, "汇丰社区"), (2, "金陵社区"), (3, "宁波路社区"))]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")


def write_site(folder: Path, urls: list[str], model: Path, database: str, broker: str) -> Path:
    """site.yaml in `folder`: one camera per RTSP URL, non-motor parking in both zones of each."""
    write_grids(folder / "grids.geojson")
    cameras: list[dict[str, Any]] = [
        {"id": camera_id, "name": f"chaos {camera_id}", "url": url, "detect_fps": 1, "decode": "sampled",
         "open_timeout_s": 5, "read_timeout_s": 5, "reconnect_max_s": 2,
         "zones": [{"name": zone, "grid": grid, "tags": ["no_parking"],
                    "polygon": [list(point) for point in (GATE_ZONE if zone == "gate" else BACK_ZONE)]}
                   for zone, grid in zone_grids(index, len(urls)).items()]}
        for index, (camera_id, url) in enumerate(zip(camera_ids(len(urls)), urls, strict=True))]
    site = {
        "timezone": TIMEZONE, "database": database, "broker": broker, "queue_prefix": QUEUE_PREFIX, "model": str(model),
        "grids": "grids.geojson", "evidence_dir": str(folder / "evidence"),
        "workers": [{"id": worker, "name": worker, "grids": [grid], "shifts": [shift(worker)]}
                    for worker, grid in WORKERS.items()],
        "cameras": cameras,
        # Due times far away: no escalation re-dispatches an incident while the check counts its alerts.
        "rules": [{"kind": "non_motor_parking", "zone_tags": ["no_parking"], "dwell_s": DWELL_S,
                   "lost_tolerance_s": LOST_TOLERANCE_S, "accept_within_min": 1440, "resolve_within_min": 2880}],
    }
    path = folder / "site.yaml"
    path.write_text(yaml.safe_dump(site, allow_unicode=True), encoding="utf-8")
    return path

"""A site for the workbench's tests: two streets, three communities, three grids, a camera and a
worker in each grid, and names a person would type (including hostile ones, for escaping tests)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import yaml

from tests.e2e.site import square

# grid id, grid name, street, community, lon of its square
GRIDS = [("G-01", "第一网格", "外滩街道", "汇丰社区", 121.470),
         ("G-02", "第二网格", "外滩街道", "金陵社区", 121.475),
         ("G-03", "第三网格", "南京东路街道", "贵州社区", 121.480)]
WORKERS = [("w-001", "张伟", "G-01"), ("w-002", "李娜", "G-02"), ("w-003", "王芳", "G-03")]
ZONE = [[0.05, 0.55], [0.95, 0.55], [0.95, 0.98], [0.05, 0.98]]
# The third camera is an RTSP one with a password in its URL: no page or API may ever show it.
RTSP_URL = "rtsp://admin:S3cret-Pw@192.0.2.10:554/Streaming/Channels/101"


@dataclass(frozen=True)
class WebSiteNames:
    """Display names written into the site; tests swap in `<script>` ones to check escaping."""

    camera_names: tuple[str, str, str] = ("汇丰购物广场东门", "金陵东路口", "贵州路菜场")
    grid_names: tuple[str, str, str] = tuple(grid[1] for grid in GRIDS)  # type: ignore[assignment]
    worker_names: tuple[str, str, str] = tuple(worker[1] for worker in WORKERS)  # type: ignore[assignment]
    zone_name: str = "sidewalk"


def write_web_site(folder: Path, database: str, camera_file: Path, names: WebSiteNames = WebSiteNames(),
                   extra: dict[str, object] | None = None) -> Path:
    """site.yaml and grids.geojson in `folder`; cameras play `camera_file` (not started by these tests)."""
    features = [{"type": "Feature",
                 "properties": {"id": grid_id, "name": names.grid_names[index], "street": street,
                                "community": community},
                 "geometry": {"type": "Polygon", "coordinates": square(lon, 31.230)}}
                for index, (grid_id, _name, street, community, lon) in enumerate(GRIDS)]
    (folder / "grids.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": features},
                                                     ensure_ascii=False), encoding="utf-8")
    config = {
        "timezone": "Asia/Shanghai", "database": database, "district": "黄浦区", "grids": "grids.geojson",
        "evidence_dir": "var/evidence",
        "workers": [{"id": worker_id, "name": names.worker_names[index], "grids": [grid],
                     "shifts": ["Mon-Sun 00:00-24:00"]} for index, (worker_id, _name, grid) in enumerate(WORKERS)],
        "cameras": [{"id": f"cam-0{index + 1}", "name": names.camera_names[index],
                     "url": RTSP_URL if index == 2 else str(camera_file),
                     "location": [lon + 0.002, 31.232],
                     "zones": [{"name": names.zone_name, "grid": grid_id, "tags": ["no_parking_non_motor"],
                                "polygon": [list(point) for point in ZONE]}]}
                    for index, (grid_id, _name, _street, _community, lon) in enumerate(GRIDS)],
        "rules": [{"kind": "non_motor_parking", "zone_tags": ["no_parking_non_motor"], "dwell_s": 30}],
        "escalation": {"default": ["street-centre"]},
        **(extra or {}),
    }
    site = folder / "site.yaml"
    site.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return site

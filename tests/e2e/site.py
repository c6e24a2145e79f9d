"""Shared pieces of the end-to-end tests' site files."""

from __future__ import annotations

import json
from pathlib import Path


def square(lon: float, lat: float, size: float = 0.005) -> list[list[list[float]]]:
    return [[[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]]


def write_grids(path: Path) -> Path:
    """Two neighbouring grids of 外滩街道: G-01 (汇丰社区) holds the cameras' location (121.472, 31.232),
    G-02 (金陵社区) lies east of it."""
    features = [{"type": "Feature",
                 "properties": {"id": grid_id, "name": name, "street": "外滩街道", "community": community},
                 "geometry": {"type": "Polygon", "coordinates": square(lon, 31.230)}}
                for grid_id, name, community, lon in (("G-01", "第一网格", "汇丰社区", 121.470),
                                                      ("G-02", "第二网格", "金陵社区", 121.475))]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False),
                    encoding="utf-8")
    return path

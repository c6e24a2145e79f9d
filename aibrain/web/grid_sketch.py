"""A small map of one incident's place, drawn on the server as SVG: its grid's outline and the camera
as a marker. Needs no script and no tiles; the overview's ECharts map is the large one."""

from __future__ import annotations

import math
from dataclasses import dataclass

from shapely.geometry import MultiPolygon, Polygon

from routing.assign.grids import GeoPoint

SIZE = 240.0  # the drawing's longer side, in SVG units
MARGIN = 0.12  # of the drawing, around what is drawn


@dataclass(frozen=True)
class GridSketch:
    """SVG `viewBox` width and height, each outline as a `points` attribute, and the marker (x, y)."""

    width: float
    height: float
    outlines: tuple[str, ...]
    marker: tuple[float, float] | None


def grid_sketch(area: Polygon | MultiPolygon, camera: GeoPoint | None) -> GridSketch:
    """Fit `area` (and the camera, which may stand outside its grid) into the drawing, north up, with
    longitudes shrunk by cos(latitude) so the shape is not stretched.

    >>> sketch = grid_sketch(Polygon([(121.47, 31.23), (121.48, 31.23), (121.48, 31.24), (121.47, 31.24)]),
    ...                      GeoPoint(121.475, 31.235))
    >>> sketch.width, sketch.height, sketch.marker
    (213.6, 240.0, (106.8, 120.0))
    """
    min_x, min_y, max_x, max_y = area.bounds
    if camera is not None:
        min_x, max_x = min(min_x, camera.lon), max(max_x, camera.lon)
        min_y, max_y = min(min_y, camera.lat), max(max_y, camera.lat)
    shrink = math.cos(math.radians((min_y + max_y) / 2))
    span = max((max_x - min_x) * shrink, max_y - min_y) or 1e-6
    scale = SIZE * (1 - 2 * MARGIN) / span
    pad = SIZE * MARGIN

    def at(lon: float, lat: float) -> tuple[float, float]:
        return round(pad + (lon - min_x) * shrink * scale, 1), round(pad + (max_y - lat) * scale, 1)

    polygons = area.geoms if isinstance(area, MultiPolygon) else (area,)
    outlines = tuple(" ".join(f"{x},{y}" for x, y in (at(lon, lat) for lon, lat in polygon.exterior.coords))
                     for polygon in polygons)
    width = round(2 * pad + (max_x - min_x) * shrink * scale, 1)
    height = round(2 * pad + (max_y - min_y) * scale, 1)
    return GridSketch(width, height, outlines, at(camera.lon, camera.lat) if camera is not None else None)

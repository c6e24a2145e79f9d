"""Grids (网格): the polygons a street is divided into, loaded from GeoJSON, and point lookup.

Each grid names the street (街道) and community (社区) it belongs to; `organisation.py` makes the
tree of them. A "/" is refused in those names: it separates the two in a community's key.
"""

from __future__ import annotations

import json
import reprlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import MultiPolygon, Polygon, shape
from shapely.validation import explain_validity

_AREA_TYPES = ("Polygon", "MultiPolygon")

Report = Callable[[str, str], None]  # (field path, message)


@dataclass(frozen=True, slots=True)
class GeoPoint:
    """A WGS 84 position, longitude first (GeoJSON order)."""

    lon: float
    lat: float


@dataclass(frozen=True, slots=True)
class Grid:
    """One grid: its id, name, street and community from the feature's properties, its area in lon/lat."""

    id: str
    name: str
    street: str
    community: str
    geometry: Polygon | MultiPolygon


@dataclass(frozen=True, slots=True)
class GridProblem:
    """One thing wrong in a grids file, located by the field path inside it."""

    file: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.field}: {self.message}"


class GridFileError(ValueError):
    """A grids file that cannot be used; `problems` lists every fault found, not just the first."""

    def __init__(self, problems: list[GridProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class GridMap(Mapping[str, Grid]):
    """Grids by id, with point-in-grid lookup through an STR tree.

    Where grids touch, a point on the shared edge belongs to the grid listed first in the file,
    so the answer never depends on set ordering.

    >>> square = Polygon([(0, 0), (1, 0), (1, 1), (0, 1)])
    >>> GridMap([Grid("g1", "一网格", "外滩街道", "汇丰社区", square)]).grid_at(0.5, 0.5).name
    '一网格'
    """

    def __init__(self, grids: list[Grid]) -> None:
        seen: set[str] = set()
        for grid in grids:
            if grid.id in seen:
                raise ValueError(f"duplicate grid id {grid.id!r}")
            seen.add(grid.id)
        self._ordered = list(grids)
        self._by_id = {grid.id: grid for grid in grids}
        self._tree = shapely.STRtree([grid.geometry for grid in grids])

    def __getitem__(self, grid_id: str) -> Grid:
        return self._by_id[grid_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_id)

    def __len__(self) -> int:
        return len(self._by_id)

    def grid_at(self, lon: float, lat: float) -> Grid | None:
        """The grid containing (lon, lat), its boundary included; None outside every grid."""
        hits = self._tree.query(shapely.Point(lon, lat), predicate="intersects")
        return self._ordered[int(min(hits))] if len(hits) else None


def load_grids(path: Path | str) -> GridMap:
    """Read a GeoJSON FeatureCollection of Polygon/MultiPolygon features with `id`, `name`, `street` and
    `community` properties."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, ValueError) as exc:  # ValueError: not UTF-8, or a NUL byte in the name
        raise GridFileError([GridProblem(str(path), "(file)", f"cannot read: {exc}")]) from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"(line {exc.lineno}, column {exc.colno})"
        raise GridFileError([GridProblem(str(path), where, f"not JSON: {exc.msg}")]) from exc
    except RecursionError:
        raise GridFileError([GridProblem(str(path), "(file)", "not usable JSON: nested too deeply")]) from None
    except ValueError as exc:  # e.g. an integer of more digits than Python converts
        raise GridFileError([GridProblem(str(path), "(file)", f"not usable JSON: {exc}")]) from exc
    return grids_from_geojson(data, source=str(path))


def grids_from_geojson(data: Any, source: str = "<geojson>") -> GridMap:
    """Build a GridMap from parsed GeoJSON; `source` names the file in problems."""
    problems: list[GridProblem] = []

    def problem(field: str, message: str) -> None:
        problems.append(GridProblem(source, field, message))

    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        problem("type", "expected a GeoJSON FeatureCollection")
        raise GridFileError(problems)
    features = data.get("features")
    if not isinstance(features, list) or not features:
        problem("features", "expected a non-empty list of features")
        raise GridFileError(problems)

    grids: list[Grid] = []
    first_index: dict[str, int] = {}
    for index, feature in enumerate(features):
        grid = _grid_from_feature(feature, f"features[{index}]", problem)
        if grid is None:
            continue
        if grid.id in first_index:
            problem(f"features[{index}].properties.id",
                    f"duplicate grid id {grid.id!r} (first at features[{first_index[grid.id]}])")
            continue
        first_index[grid.id] = index
        grids.append(grid)
    if problems:
        raise GridFileError(problems)
    return GridMap(grids)


def _grid_from_feature(feature: Any, at: str, problem: Report) -> Grid | None:
    """One feature as a Grid, or None after reporting each fault through `problem`."""
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        problem(f"{at}.type", "expected a GeoJSON Feature")
        return None
    props = feature.get("properties")
    if isinstance(props, dict):
        grid_id = _non_empty(props.get("id"), f"{at}.properties.id", problem)
        name = _non_empty(props.get("name"), f"{at}.properties.name", problem)
        street = _place_name(props.get("street"), f"{at}.properties.street", problem)
        community = _place_name(props.get("community"), f"{at}.properties.community", problem)
    else:
        problem(f"{at}.properties", "expected an object with 'id', 'name', 'street' and 'community'")
        grid_id = name = street = community = None
    geometry = _area(feature.get("geometry"), f"{at}.geometry", problem)
    if grid_id is None or name is None or street is None or community is None or geometry is None:
        return None
    return Grid(grid_id, name, street, community, geometry)


def _non_empty(value: Any, at: str, problem: Report) -> str | None:
    if isinstance(value, str) and value.strip():
        return value
    problem(at, f"expected a non-empty string, got {reprlib.repr(value)}")
    return None


def _place_name(value: Any, at: str, problem: Report) -> str | None:
    """A street's or community's name, its ends stripped: grids name the same one, so " 汇丰社区" must not
    make a second community."""
    text = _non_empty(value, at, problem)
    if text is not None and "/" in text:
        problem(at, f"{reprlib.repr(text)} holds a '/', which separates street and community in scope keys")
        return None
    return None if text is None else text.strip()


def _area(raw: Any, at: str, problem: Report) -> Polygon | MultiPolygon | None:
    if not isinstance(raw, dict) or raw.get("type") not in _AREA_TYPES:
        got = raw.get("type") if isinstance(raw, dict) else raw
        problem(f"{at}.type", f"expected Polygon or MultiPolygon, got {got!r}")
        return None
    try:
        geometry = shape(raw)
    except Exception as exc:  # shapely raises several types for malformed coordinates
        problem(f"{at}.coordinates", f"malformed {raw['type']}: {exc}")
        return None
    if not isinstance(geometry, Polygon | MultiPolygon) or geometry.is_empty:
        problem(f"{at}.coordinates", "empty geometry")
        return None
    min_lon, min_lat, max_lon, max_lat = geometry.bounds
    if not (-180 <= min_lon <= max_lon <= 180 and -90 <= min_lat <= max_lat <= 90):
        problem(f"{at}.coordinates", f"outside lon/lat range (bounds {geometry.bounds}); expected WGS 84")
        return None
    if not geometry.is_valid:
        problem(f"{at}.coordinates", f"invalid polygon: {explain_validity(geometry)}")
        return None
    return geometry

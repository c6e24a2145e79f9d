"""Tagged image zones in normalised coordinates, so one zone fits any resolution of its camera."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

import numpy as np
import shapely

from common.schedule import Shift

Points = tuple[tuple[float, float], ...]


@lru_cache(maxsize=1024)
def _pixel_geometry(polygon: Points, width: int, height: int) -> shapely.Polygon:
    scaled = shapely.Polygon(np.asarray(polygon) * (width, height))
    shapely.prepare(scaled)  # point-in-polygon runs every frame; preparing makes it cheap
    return scaled


@dataclass(frozen=True, slots=True)
class Zone:
    """A named area of one camera's image, with tags rules select it by (`no_parking`, `sidewalk`...).

    `polygon` points are (x, y) as fractions of the image width and height. `allow` maps a
    violation kind to the weekly windows (in the site's local time) in which it is allowed here,
    e.g. street vending 18:00-22:00: rules of that kind do not look at the zone then.

    >>> zone = Zone("gate", frozenset({"no_parking"}), ((0, 0.5), (1, 0.5), (1, 1), (0, 1)))
    >>> zone.contains(np.array([[50, 90], [50, 10]]), width=100, height=100).tolist()
    [True, False]
    """

    name: str
    tags: frozenset[str]
    polygon: Points
    allow: Mapping[str, tuple[Shift, ...]] = field(default_factory=dict)

    def allows(self, kind: str, local: datetime) -> bool:
        """Whether `kind` is allowed in this zone at `local` (a datetime in the site's zone)."""
        return any(window.covers(local) for window in self.allow.get(kind, ()))

    def __post_init__(self) -> None:
        object.__setattr__(self, "polygon", tuple((float(x), float(y)) for x, y in self.polygon))
        if len(self.polygon) < 3:
            raise ValueError(f"zone {self.name!r}: a polygon needs at least 3 points")
        if not all(0.0 <= v <= 1.0 for point in self.polygon for v in point):
            raise ValueError(f"zone {self.name!r}: points must be normalised to 0..1")
        if not shapely.Polygon(self.polygon).is_valid:
            raise ValueError(f"zone {self.name!r}: polygon crosses itself")

    @classmethod
    def from_pixels(cls, name: str, tags: frozenset[str], points: Sequence[tuple[float, float]],
                    width: int, height: int) -> Zone:
        """A zone drawn in pixels of a `width` x `height` image."""
        return cls(name, tags, tuple((x / width, y / height) for x, y in points))

    def pixel_polygon(self, width: int, height: int) -> np.ndarray:
        """(K, 2) int32 vertices in pixels of a `width` x `height` image (for drawing)."""
        exterior = _pixel_geometry(self.polygon, width, height).exterior
        return np.round(np.asarray(exterior.coords[:-1])).astype(np.int32)

    def contains(self, points_xy: np.ndarray, width: int, height: int) -> np.ndarray:
        """(N,) bool: which (N, 2) pixel points lie inside the zone or on its edge."""
        points = np.asarray(points_xy, dtype=np.float64).reshape(-1, 2)
        inside: np.ndarray = shapely.intersects_xy(_pixel_geometry(self.polygon, width, height), points[:, 0],
                                                   points[:, 1])
        return inside

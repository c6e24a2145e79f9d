from __future__ import annotations

import numpy as np
import pytest

from detector.zones import Zone

TAGS = frozenset({"no_parking"})


def test_contains_is_vectorised_and_scales_with_the_frame() -> None:
    zone = Zone("kerb", TAGS, ((0.0, 0.5), (0.5, 0.5), (0.5, 1.0), (0.0, 1.0)))
    points = np.array([[100, 700], [900, 700], [100, 100], [500, 500]])  # in, right, above, on a corner
    assert zone.contains(points, 1000, 1000).tolist() == [True, False, False, True]
    assert zone.contains(points / 2, 500, 500).tolist() == [True, False, False, True]
    assert zone.contains(np.zeros((0, 2)), 1000, 1000).shape == (0,)


def test_pixel_polygon_and_from_pixels_round_trip() -> None:
    zone = Zone.from_pixels("gate", TAGS, [(0, 540), (1920, 540), (1920, 1080)], 1920, 1080)
    assert zone.polygon == ((0.0, 0.5), (1.0, 0.5), (1.0, 1.0))
    assert zone.pixel_polygon(1920, 1080).tolist() == [[0, 540], [1920, 540], [1920, 1080]]
    assert zone.pixel_polygon(640, 360).tolist() == [[0, 180], [640, 180], [640, 360]]


@pytest.mark.parametrize("polygon, problem", [
    (((0, 0), (1, 1)), "at least 3"),
    (((0, 0), (1.5, 0), (1, 1)), "normalised"),
    (((0, 0), (1, 1), (1, 0), (0, 1)), "crosses itself"),
])
def test_bad_polygons_are_refused_with_the_zone_name(polygon: tuple, problem: str) -> None:
    with pytest.raises(ValueError, match=f"zone 'bad'.*{problem}"):
        Zone("bad", TAGS, polygon)

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from routing.assign.grids import GridFileError, load_grids


def square(x0: float, y0: float, size: float = 0.01) -> list[list[list[float]]]:
    return [[[x0, y0], [x0 + size, y0], [x0 + size, y0 + size], [x0, y0 + size], [x0, y0]]]


def feature(grid_id: Any, name: Any, geometry: Any, street: Any = "外滩街道",
            community: Any = "汇丰社区") -> dict[str, Any]:
    return {"type": "Feature", "properties": {"id": grid_id, "name": name, "street": street, "community": community},
            "geometry": geometry}


def write(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "grids.geojson"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def collection(*features: dict[str, Any]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(features)}


def test_polygon_and_multipolygon_lookup(tmp_path: Path) -> None:
    path = write(tmp_path, collection(
        feature("g1", "东街一网格", {"type": "Polygon", "coordinates": square(121.0, 31.0)}),
        feature("g2", "东街二网格", {"type": "MultiPolygon",
                                   "coordinates": [square(121.01, 31.0), square(121.05, 31.05)]}),
    ))
    grids = load_grids(path)
    assert set(grids) == {"g1", "g2"} and "g1" in grids and len(grids) == 2
    assert (grids["g1"].name, grids["g1"].street, grids["g1"].community) == ("东街一网格", "外滩街道", "汇丰社区")
    assert grids.grid_at(121.005, 31.005) == grids["g1"]
    assert grids.grid_at(121.055, 31.055) == grids["g2"]  # second part of the MultiPolygon
    assert grids.grid_at(120.0, 30.0) is None


def test_shared_edge_goes_to_the_first_grid_in_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, collection(
        feature("west", "W", {"type": "Polygon", "coordinates": square(121.0, 31.0)}),
        feature("east", "E", {"type": "Polygon", "coordinates": square(121.01, 31.0)}),
    ))
    grids = load_grids(path)
    assert grids.grid_at(121.01, 31.005) == grids["west"]


def test_every_problem_is_reported_with_file_and_field(tmp_path: Path) -> None:
    path = write(tmp_path, collection(
        feature("g1", "ok", {"type": "Polygon", "coordinates": square(121.0, 31.0)}),
        feature("", "no id", {"type": "Polygon", "coordinates": square(121.0, 31.0)}),
        feature("g3", None, {"type": "Point", "coordinates": [121.0, 31.0]}),
        feature("g1", "dup", {"type": "Polygon", "coordinates": square(121.2, 31.0)}),
        feature("g5", "bowtie", {"type": "Polygon",
                                 "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}),
        feature("g6", "projected", {"type": "Polygon", "coordinates": square(500000, 3400000, 100)}),
        {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": square(121.0, 31.0)}},
    ))
    with pytest.raises(GridFileError) as caught:
        load_grids(path)
    fields = [p.field for p in caught.value.problems]
    assert fields == [
        "features[1].properties.id",
        "features[2].properties.name",
        "features[2].geometry.type",
        "features[3].properties.id",
        "features[4].geometry.coordinates",
        "features[5].geometry.coordinates",
        "features[6].properties",
    ]
    assert all(p.file == str(path) for p in caught.value.problems)
    message = str(caught.value)
    assert f"{path}: features[3].properties.id: duplicate grid id 'g1' (first at features[0])" in message
    assert "Self-intersection" in message
    assert "WGS 84" in message


@pytest.mark.parametrize(("content", "field"), [
    ("{not json", "(line 1, column 2)"),
    (json.dumps({"type": "Feature"}), "type"),
    (json.dumps({"type": "FeatureCollection", "features": []}), "features"),
])
def test_unusable_files(tmp_path: Path, content: str, field: str) -> None:
    path = tmp_path / "bad.geojson"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(GridFileError) as caught:
        load_grids(path)
    assert [p.field for p in caught.value.problems] == [field]


def test_street_and_community_are_required_names_without_a_slash(tmp_path: Path) -> None:
    area = {"type": "Polygon", "coordinates": square(121.0, 31.0)}
    no_street = feature("g2", "n", area)
    del no_street["properties"]["street"]
    path = write(tmp_path, collection(
        feature("g1", "ok", area),
        no_street,
        feature("g3", "n", area, street="", community="  "),
        feature("g4", "n", area, street="外滩/街道", community=["汇丰社区"]),
        feature("g5", "n", area, street="外滩街道", community="汇丰/社区"),
    ))
    with pytest.raises(GridFileError) as caught:
        load_grids(path)
    assert [(p.field, p.message) for p in caught.value.problems] == [
        ("features[1].properties.street", "expected a non-empty string, got None"),
        ("features[2].properties.street", "expected a non-empty string, got ''"),
        ("features[2].properties.community", "expected a non-empty string, got '  '"),
        ("features[3].properties.street",
         "'外滩/街道' holds a '/', which separates street and community in scope keys"),
        ("features[3].properties.community", "expected a non-empty string, got ['汇丰社区']"),
        ("features[4].properties.community",
         "'汇丰/社区' holds a '/', which separates street and community in scope keys"),
    ]


def test_street_and_community_names_are_stripped(tmp_path: Path) -> None:
    """Grids naming " 外滩街道" and "外滩街道" belong to one street, not two."""
    area = {"type": "Polygon", "coordinates": square(121.0, 31.0)}
    path = write(tmp_path, collection(feature("g1", "n", area, street=" 外滩街道 ", community="汇丰社区\t")))
    grids = load_grids(path)
    assert (grids["g1"].street, grids["g1"].community) == ("外滩街道", "汇丰社区")


def test_missing_file_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(GridFileError, match="nowhere.geojson: \\(file\\): cannot read"):
        load_grids(tmp_path / "nowhere.geojson")

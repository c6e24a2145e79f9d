"""The organisation 区 → 街道 → 社区 → 网格 over a grids file: node keys, what lies under each node."""

from __future__ import annotations

from pathlib import Path

import pytest

from routing.assign.grids import load_grids
from routing.assign.organisation import Level, Node, Organisation, organisation_summary
from tests.routing.test_grids import collection, feature, square, write

# (grid id, name, street, community): 汇丰社区 is a community of both streets, and two different ones.
GRIDS = [
    ("G-01", "汇丰一", "外滩街道", "汇丰社区"),
    ("G-02", "金陵一", "外滩街道", "金陵社区"),
    ("G-03", "汇丰二", "外滩街道", "汇丰社区"),  # after G-02 in the file, still in the first community
    ("G-04", "南京一", "南京东路街道", "汇丰社区"),
    ("G-05", "南京二", "南京东路街道", "宁波路社区"),
]


@pytest.fixture
def org(tmp_path: Path) -> Organisation:
    features = [feature(grid_id, name, {"type": "Polygon", "coordinates": square(121 + k / 100, 31.0)},
                        street, community) for k, (grid_id, name, street, community) in enumerate(GRIDS)]
    return Organisation("黄浦区", load_grids(write(tmp_path, collection(*features))))


def test_nodes_in_tree_order_with_keys_and_labels(org: Organisation) -> None:
    assert [(node.key, node.label) for node in org.nodes()] == [
        ("district", "黄浦区"),
        ("street:外滩街道", "外滩街道"),
        ("community:外滩街道/汇丰社区", "汇丰社区"),
        ("grid:G-01", "汇丰一"),
        ("grid:G-03", "汇丰二"),
        ("community:外滩街道/金陵社区", "金陵社区"),
        ("grid:G-02", "金陵一"),
        ("street:南京东路街道", "南京东路街道"),
        ("community:南京东路街道/汇丰社区", "汇丰社区"),
        ("grid:G-04", "南京一"),
        ("community:南京东路街道/宁波路社区", "宁波路社区"),
        ("grid:G-05", "南京二"),
    ]


def test_every_key_gives_back_its_node(org: Organisation) -> None:
    for node in org.nodes():
        assert org.node(node.key) == node
    assert org.node("grid:G-04") == Node(Level.GRID, "南京东路街道", "汇丰社区", "G-04", "南京一")
    assert org.node("street:外滩街道") == Node(Level.STREET, "外滩街道", None, None, "a label takes no part")


def test_grids_under_each_level(org: Organisation) -> None:
    under = {key: org.grids_under(org.node(key)) for key in (
        "district", "street:外滩街道", "street:南京东路街道", "community:外滩街道/汇丰社区",
        "community:外滩街道/金陵社区", "community:南京东路街道/宁波路社区", "grid:G-03")}
    assert under == {
        "district": {"G-01", "G-02", "G-03", "G-04", "G-05"},
        "street:外滩街道": {"G-01", "G-02", "G-03"},
        "street:南京东路街道": {"G-04", "G-05"},
        "community:外滩街道/汇丰社区": {"G-01", "G-03"},
        "community:外滩街道/金陵社区": {"G-02"},
        "community:南京东路街道/宁波路社区": {"G-05"},
        "grid:G-03": {"G-03"},
    }
    assert all(isinstance(grids, frozenset) for grids in under.values())


def test_a_community_name_in_two_streets_is_two_communities(org: Organisation) -> None:
    east, south = org.node("community:外滩街道/汇丰社区"), org.node("community:南京东路街道/汇丰社区")
    assert east != south and east.label == south.label == "汇丰社区"
    assert org.grids_under(east) == {"G-01", "G-03"}
    assert org.grids_under(south) == {"G-04"}
    assert org.path("G-01") == ("外滩街道", "汇丰社区") and org.path("G-04") == ("南京东路街道", "汇丰社区")
    assert (org.street_of("G-04"), org.community_of("G-04")) == ("南京东路街道", "汇丰社区")


def test_only_the_district_covers_incidents_in_no_grid(org: Organisation) -> None:
    assert [node.key for node in org.nodes() if org.covers_ungridded(node)] == ["district"]


@pytest.mark.parametrize(("key", "message"), [
    ("", "is not a scope key"),
    ("street", "is not a scope key"),
    ("street:", "is not a scope key"),
    ("community:外滩街道", "is not a scope key"),
    ("community:外滩街道/汇丰社区/x", "is not a scope key"),
    ("region:外滩街道", "is not a scope key"),
    ("grid:", "is not a scope key"),
    ("District", "is not a scope key"),
    ("street:外滩", "names no place in 黄浦区's grids file"),
    ("community:外滩街道/宁波路社区", "names no place"),  # a community of the other street
    ("grid:G-99", "names no place"),
    ("street:外滩街道 ", "names no place"),
])
def test_unknown_or_malformed_keys_are_refused_by_name(org: Organisation, key: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        org.node(key)
    assert repr(key) in str(caught.value)


def test_a_node_of_no_such_place_is_refused(org: Organisation) -> None:
    with pytest.raises(ValueError, match="'street:虹口' names no place"):
        org.grids_under(Node(Level.STREET, "虹口", None, None, "虹口"))


def test_path_of_an_unknown_grid_is_a_key_error(org: Organisation) -> None:
    with pytest.raises(KeyError):
        org.path("G-99")


def test_summary_counts_each_level(org: Organisation) -> None:
    assert organisation_summary(org) == [
        "district 黄浦区: 2 streets, 4 communities, 5 grids",
        "  street 外滩街道: 2 communities, 3 grids",
        "    community 汇丰社区: 2 grids (G-01, G-03)",
        "    community 金陵社区: 1 grid (G-02)",
        "  street 南京东路街道: 2 communities, 2 grids",
        "    community 汇丰社区: 1 grid (G-04)",
        "    community 宁波路社区: 1 grid (G-05)",
    ]

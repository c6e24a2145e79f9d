"""The organisation 区 → 街道 → 社区 → 网格: the district, its streets, their communities and their grids,
as the grids file names them. A user is scoped to one node of it and sees what lies under that node.

A node is written as a key: "district", "street:<street>", "community:<street>/<community>" or
"grid:<grid id>". A community is known by its street and name together: two streets may each have a
汇丰社区. Everything a scope asks is precomputed, since it is asked on every request.

>>> from shapely.geometry import box
>>> org = Organisation("黄浦区", GridMap([
...     Grid("G-01", "汇丰一", "外滩街道", "汇丰社区", box(0, 0, 1, 1)),
...     Grid("G-02", "汇丰二", "外滩街道", "汇丰社区", box(1, 0, 2, 1)),
...     Grid("G-03", "金陵一", "外滩街道", "金陵社区", box(2, 0, 3, 1)),
...     Grid("G-04", "南京一", "南京东路街道", "汇丰社区", box(3, 0, 4, 1))]))
>>> sorted(org.grids_under(org.node("community:外滩街道/汇丰社区")))
['G-01', 'G-02']
>>> sorted(org.grids_under(org.node("street:外滩街道")))
['G-01', 'G-02', 'G-03']
>>> org.path("G-04"), org.covers_ungridded(org.node("district"))
(('南京东路街道', '汇丰社区'), True)
>>> [node.key for node in org.nodes()][:4]
['district', 'street:外滩街道', 'community:外滩街道/汇丰社区', 'grid:G-01']
>>> print("\\n".join(organisation_summary(org)))
district 黄浦区: 2 streets, 3 communities, 4 grids
  street 外滩街道: 2 communities, 3 grids
    community 汇丰社区: 2 grids (G-01, G-02)
    community 金陵社区: 1 grid (G-03)
  street 南京东路街道: 1 community, 1 grid
    community 汇丰社区: 1 grid (G-04)
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum

from routing.assign.grids import Grid, GridMap

_KEY_FORM = re.compile(r"district|street:[^/]+|community:[^/]+/[^/]+|grid:.+", re.DOTALL)
KEY_FORMS = "district, street:<street>, community:<street>/<community> or grid:<grid id>"


class Level(StrEnum):
    DISTRICT = "district"  # 区
    STREET = "street"  # 街道
    COMMUNITY = "community"  # 社区
    GRID = "grid"  # 网格


@dataclass(frozen=True, slots=True)
class Node:
    """One place in the tree. A node names the places above it too (a grid its street and community),
    so it carries its branch; `label` is what people read and takes no part in equality."""

    level: Level
    street: str | None
    community: str | None
    grid: str | None
    label: str = field(compare=False)  # the district's, street's or community's name; a grid's name

    @property
    def key(self) -> str:
        """The node as users' scopes store it, e.g. "community:外滩街道/汇丰社区"."""
        match self.level:
            case Level.DISTRICT:
                return "district"
            case Level.STREET:
                return f"street:{self.street}"
            case Level.COMMUNITY:
                return f"community:{self.street}/{self.community}"
            case Level.GRID:
                return f"grid:{self.grid}"


class Organisation:
    """The tree over a site's grids, with the grids under each node worked out once."""

    def __init__(self, district: str, grids: GridMap) -> None:
        self.district = district
        self.grids = grids
        members: dict[str, dict[str, list[Grid]]] = {}  # street -> community -> grids, in file order
        for grid in grids.values():
            members.setdefault(grid.street, {}).setdefault(grid.community, []).append(grid)
        top = Node(Level.DISTRICT, None, None, None, district)
        self._nodes: dict[str, Node] = {top.key: top}  # in tree order
        self._under: dict[str, frozenset[str]] = {top.key: frozenset(grids)}
        for street, communities in members.items():
            self._add(Node(Level.STREET, street, None, None, street),
                      [grid for community in communities.values() for grid in community])
            for community, community_grids in communities.items():
                self._add(Node(Level.COMMUNITY, street, community, None, community), community_grids)
                for grid in community_grids:
                    self._add(Node(Level.GRID, street, community, grid.id, grid.name), [grid])

    def _add(self, node: Node, grids: list[Grid]) -> None:
        self._nodes[node.key] = node
        self._under[node.key] = frozenset(grid.id for grid in grids)

    def node(self, key: str) -> Node:
        """The node a key names; ValueError naming the key when it is malformed or names no place here."""
        found = self._nodes.get(key)
        if found is not None:
            return found
        if not _KEY_FORM.fullmatch(key):
            raise ValueError(f"{key!r} is not a scope key; write {KEY_FORMS}")
        raise ValueError(f"{key!r} names no place in {self.district}'s grids file")

    def grids_under(self, node: Node) -> frozenset[str]:
        """Ids of the grids at or below `node`."""
        return self._under[self.node(node.key).key]

    def covers_ungridded(self, node: Node) -> bool:
        """Whether `node` also holds what happened in no grid: only the whole district does."""
        return node.level is Level.DISTRICT

    def path(self, grid_id: str) -> tuple[str, str]:
        """(street, community) of a grid; KeyError for a grid not in the grids file."""
        grid = self.grids[grid_id]
        return grid.street, grid.community

    def street_of(self, grid_id: str) -> str:
        return self.path(grid_id)[0]

    def community_of(self, grid_id: str) -> str:
        """The community's name; it is known within its street only (`path` gives both)."""
        return self.path(grid_id)[1]

    def nodes(self) -> list[Node]:
        """Every node in tree order: the district, then each street followed by its communities, each
        followed by its grids (streets, communities and grids in the order of the grids file)."""
        return list(self._nodes.values())


def organisation_summary(org: Organisation) -> list[str]:
    """The tree as lines for `check-config`: the district and each street with what they hold, each
    community with its grid ids."""
    nodes = org.nodes()
    levels = Counter(node.level for node in nodes)
    communities_of = Counter(node.street for node in nodes if node.level is Level.COMMUNITY)
    lines = []
    for node in nodes:
        grids = org.grids_under(node)
        if node.level is Level.DISTRICT:
            lines.append(f"district {node.label}: {_count(levels[Level.STREET], 'street')}, "
                         f"{_count(levels[Level.COMMUNITY], 'community')}, {_count(len(grids), 'grid')}")
        elif node.level is Level.STREET:
            lines.append(f"  street {node.label}: {_count(communities_of[node.street], 'community')}, "
                         f"{_count(len(grids), 'grid')}")
        elif node.level is Level.COMMUNITY:
            lines.append(f"    community {node.label}: {_count(len(grids), 'grid')} ({', '.join(sorted(grids))})")
    return lines


def _count(number: int, noun: str) -> str:
    plural = noun[:-1] + "ies" if noun.endswith("y") else noun + "s"
    return f"{number} {noun if number == 1 else plural}"

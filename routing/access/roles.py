"""The roles of the workbench and the scope each may hold.

A user is scoped to one node of the organisation (区 → 街道 → 社区 → 网格), named by its key:
"district", "street:<street>", "community:<street>/<community>" or "grid:<grid id>".
"""

from __future__ import annotations

from enum import StrEnum

from routing.assign.organisation import Level


class Role(StrEnum):
    """worker: their own incidents; leader: a grid or community (reassigns, approves extensions);
    centre: a street or the district (everything in scope); admin: users, cameras and zones."""

    WORKER = "worker"
    LEADER = "leader"
    CENTRE = "centre"
    ADMIN = "admin"


SCOPE_LEVELS: dict[Role, tuple[Level, ...]] = {
    Role.WORKER: (Level.GRID, Level.COMMUNITY),
    Role.LEADER: (Level.GRID, Level.COMMUNITY),
    Role.CENTRE: (Level.STREET, Level.DISTRICT),
    Role.ADMIN: (Level.DISTRICT,),
}


def scope_level(scope: str) -> Level | None:
    """The level a scope key names, or None when the key is not shaped like one. Whether the place
    exists is the site's organisation's to say (`Organisation.node`).

    >>> scope_level("community:外滩街道/中山社区"), scope_level("district"), scope_level("street:")
    (<Level.COMMUNITY: 'community'>, <Level.DISTRICT: 'district'>, None)
    """
    if scope == Level.DISTRICT:
        return Level.DISTRICT
    level, _, name = scope.partition(":")
    if not name or name != name.strip():
        return None
    if level in (Level.STREET, Level.GRID):
        return Level(level) if "/" not in name else None
    if level == Level.COMMUNITY:
        street, _, community = name.partition("/")
        return Level.COMMUNITY if street and community and "/" not in community else None
    return None


def scope_problem(role: Role, scope: str) -> str | None:
    """Why `role` cannot hold `scope` (its shape or its level), or None when it can.

    >>> scope_problem(Role.CENTRE, "grid:G-01")
    'a centre user is scoped to a street or district, not a grid'
    >>> scope_problem(Role.ADMIN, "street:外滩街道")
    'an admin user is scoped to a district, not a street'
    """
    level = scope_level(scope)
    if level is None:
        return ('not a scope; give "district", "street:<street>", "community:<street>/<community>" '
                'or "grid:<grid id>"')
    allowed = SCOPE_LEVELS[role]
    if level not in allowed:
        article = "an" if role.value[0] in "aeiou" else "a"
        return f"{article} {role.value} user is scoped to a {' or '.join(allowed)}, not a {level.value}"
    return None

"""Who is told, level by level, when nobody acts on an incident in time (grid leader -> community
-> street centre...), configured per grid."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class EscalationChains:
    """Escalation targets per grid, in order; grids not listed use `default`.

    Level 0 is the worker alone; level k means the first k targets of the chain have been told.

    >>> chains = EscalationChains({"G-01": ("leader-01", "community-3")}, default=("centre",))
    >>> chains.next_target("G-01", 1), chains.next_target("G-02", 0), chains.next_target("G-02", 1)
    ('community-3', 'centre', None)
    """

    per_grid: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    default: tuple[str, ...] = ()

    def chain(self, grid_id: str | None) -> tuple[str, ...]:
        if grid_id is None:
            return self.default
        return self.per_grid.get(grid_id, self.default)

    def next_target(self, grid_id: str | None, level: int) -> str | None:
        """The target to tell when an incident at `level` escalates; None once the chain is spent."""
        chain = self.chain(grid_id)
        return chain[level] if level < len(chain) else None

    def longest(self) -> int:
        """The most levels any grid can escalate through."""
        return max((len(chain) for chain in (self.default, *self.per_grid.values())), default=0)

    def targets(self) -> tuple[str, ...]:
        """Every target of every chain, each once (each gets a queue)."""
        seen = dict.fromkeys(self.default)
        for chain in self.per_grid.values():
            seen.update(dict.fromkeys(chain))
        return tuple(seen)

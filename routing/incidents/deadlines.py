"""How long a worker has to accept and to resolve an alert, per kind of violation."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class DueMinutes:
    """Minutes after confirmation by which an alert must be accepted, and the problem resolved."""

    accept: float = 15.0
    resolve: float = 120.0

    def __post_init__(self) -> None:
        if not 0 < self.accept <= self.resolve:
            raise ValueError(f"need 0 < accept <= resolve minutes, got {self.accept} and {self.resolve}")


@dataclass(frozen=True, slots=True)
class DueLimits:
    """Due times for every kind: `per_kind` entries override `default`.

    >>> limits = DueLimits(per_kind={"motor_parking": DueMinutes(5, 30)})
    >>> limits.for_kind("piling")
    DueMinutes(accept=15.0, resolve=120.0)
    """

    default: DueMinutes = DueMinutes()
    per_kind: Mapping[str, DueMinutes] = field(default_factory=dict)

    def for_kind(self, kind: str) -> DueMinutes:
        return self.per_kind.get(kind, self.default)

    def due(self, kind: str, confirmed_at: datetime) -> tuple[datetime, datetime]:
        """(accept by, resolve by) for a violation of `kind` confirmed at `confirmed_at`."""
        minutes = self.for_kind(kind)
        return (confirmed_at + timedelta(minutes=minutes.accept),
                confirmed_at + timedelta(minutes=minutes.resolve))

"""Grid workers (网格员), their duty shifts, and who is on duty in a grid at a given moment."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from common.schedule import Shift

__all__ = ["Roster", "Worker"]


@dataclass(frozen=True, slots=True)
class Worker:
    """A grid worker: the grids they cover and their weekly shifts."""

    id: str
    name: str
    grids: tuple[str, ...]
    shifts: tuple[Shift, ...]

    def on_shift(self, local: datetime) -> bool:
        return any(shift.covers(local) for shift in self.shifts)


class Roster:
    """Who is on duty where: shifts are read in the site's time zone, whatever zone `when` is in.

    When several workers of a grid are on duty, the first in roster order gets the alert, so
    the same moment always goes to the same person.

    >>> from common.schedule import parse_shift
    >>> alice = Worker("w1", "Alice", ("g1",), (parse_shift("Mon-Sun 08:00-20:00"),))
    >>> roster = Roster([alice], ZoneInfo("Asia/Shanghai"))
    >>> roster.on_duty("g1", datetime.fromisoformat("2024-06-03T01:00:00+00:00")).name
    'Alice'
    """

    def __init__(self, workers: Sequence[Worker], tz: ZoneInfo) -> None:
        ids = [worker.id for worker in workers]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"duplicate worker ids in roster: {duplicates}")
        self.workers = tuple(workers)
        self.tz = tz
        self._by_grid: dict[str, list[Worker]] = {}
        for worker in workers:
            for grid_id in worker.grids:
                self._by_grid.setdefault(grid_id, []).append(worker)

    def on_duty(self, grid_id: str, when: datetime) -> Worker | None:
        """The worker on duty in `grid_id` at the aware instant `when`, or None if nobody is."""
        if when.tzinfo is None or when.utcoffset() is None:
            raise ValueError(f"on_duty needs a timezone-aware datetime, got {when.isoformat()}")
        local = when.astimezone(self.tz)
        return next((w for w in self._by_grid.get(grid_id, ()) if w.on_shift(local)), None)

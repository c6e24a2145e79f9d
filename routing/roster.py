"""Grid workers (网格员), their duty shifts, and who is on duty in a grid at a given moment."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_DAY_INDEX = {name.lower(): i for i, name in enumerate(DAY_NAMES)}
_SHIFT = re.compile(r"^\s*(?P<days>\S+)\s+(?P<start>\S+?)\s*-\s*(?P<end>\S+)\s*$")
_CLOCK = re.compile(r"^(?P<h>\d{1,2}):(?P<m>\d{2})$")
_DAY_SECONDS = 24 * 3600


class ShiftSyntaxError(ValueError):
    """A shift string that does not parse; the message says which part is wrong."""


@dataclass(frozen=True, slots=True)
class Shift:
    """Weekly duty hours in the site's local time.

    `days` are weekday numbers (Mon = 0). A shift whose end is not after its start runs
    overnight and belongs to the day it starts: "Sat 22:00-06:00" covers Saturday 22:00 to
    Sunday 06:00.

    >>> parse_shift("Sat 22:00-06:00").covers(datetime(2024, 6, 2, 5, 59))  # a Sunday
    True
    """

    days: frozenset[int]
    start_s: int  # seconds after local midnight, 0 .. 86399
    end_s: int  # seconds after local midnight, 1 .. 86400

    @property
    def overnight(self) -> bool:
        return self.end_s <= self.start_s

    def covers(self, local: datetime) -> bool:
        """Whether the wall-clock time `local` (already in the site's zone) is in this shift."""
        weekday = local.weekday()
        second = local.hour * 3600 + local.minute * 60 + local.second
        if not self.overnight:
            return weekday in self.days and self.start_s <= second < self.end_s
        started_today = weekday in self.days and second >= self.start_s
        started_yesterday = (weekday - 1) % 7 in self.days and second < self.end_s
        return started_today or started_yesterday

    def __str__(self) -> str:
        days = ",".join(DAY_NAMES[d] for d in sorted(self.days))
        return f"{days} {_clock(self.start_s)}-{_clock(self.end_s)}"


def parse_shift(text: str) -> Shift:
    """Parse "Mon-Fri 08:00-20:00", "Mon,Wed,Fri 09:00-12:00", "Sat 22:00-06:00", "Sun 00:00-24:00".

    Day ranges may wrap the week ("Fri-Mon") and mix with lists ("Mon-Wed,Sat").
    """
    match = _SHIFT.match(text)
    if match is None:
        raise ShiftSyntaxError(f"expected '<days> HH:MM-HH:MM' such as 'Mon-Fri 08:00-20:00', got {text!r}")
    days = _parse_days(match["days"])
    start = _parse_clock(match["start"], "start")
    end = _parse_clock(match["end"], "end")
    if start == _DAY_SECONDS:
        raise ShiftSyntaxError("start time 24:00 is not a time of day; write 00:00 of the next day")
    if start == end:
        raise ShiftSyntaxError(f"start and end are both {match['start']}; for all day write 00:00-24:00")
    return Shift(days, start, end)


def _parse_days(text: str) -> frozenset[int]:
    days: set[int] = set()
    for part in text.split(","):
        first, dash, last = part.partition("-")
        start = _day(first)
        if not dash:
            days.add(start)
            continue
        stop = _day(last)
        days.update((start + i) % 7 for i in range((stop - start) % 7 + 1))
    return frozenset(days)


def _day(name: str) -> int:
    try:
        return _DAY_INDEX[name.strip().lower()]
    except KeyError:
        raise ShiftSyntaxError(f"unknown day {name!r}; use {', '.join(DAY_NAMES)}") from None


def _parse_clock(text: str, which: str) -> int:
    match = _CLOCK.match(text)
    if match is None:
        raise ShiftSyntaxError(f"{which} time {text!r} is not HH:MM")
    hours, minutes = int(match["h"]), int(match["m"])
    if minutes > 59 or hours > 24 or (hours == 24 and minutes):
        raise ShiftSyntaxError(f"{which} time {text!r} is out of range 00:00..24:00")
    return hours * 3600 + minutes * 60


def _clock(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


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

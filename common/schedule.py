"""Weekly time windows in a site's local time ("Mon-Fri 08:00-20:00"): workers' duty shifts, and
the hours a zone allows a kind of activity (vending allowed 18:00-22:00)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_DAY_INDEX = {name.lower(): i for i, name in enumerate(DAY_NAMES)}
_SHIFT = re.compile(r"^\s*(?P<days>\S+)\s+(?P<start>\S+?)\s*-\s*(?P<end>\S+)\s*$")
_CLOCK = re.compile(r"^(?P<h>\d{1,2}):(?P<m>\d{2})$")
_DAY_SECONDS = 24 * 3600


class ShiftSyntaxError(ValueError):
    """A shift string that does not parse; the message says which part is wrong."""


@dataclass(frozen=True, slots=True)
class Shift:
    """Weekly hours in the site's local time (a duty shift, an allowed window).

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

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from common.schedule import Shift, ShiftSyntaxError, parse_shift
from routing.assign.roster import Roster, Worker

SHANGHAI = ZoneInfo("Asia/Shanghai")
# 2024-06-03 is a Monday.
MON, SAT, SUN = 3, 8, 9


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2024, 6, day, hour, minute)


@pytest.mark.parametrize(("text", "days", "start", "end"), [
    ("Mon-Sun 08:00-20:00", set(range(7)), 8 * 3600, 20 * 3600),
    ("Mon,Wed,Fri 09:00-12:00", {0, 2, 4}, 9 * 3600, 12 * 3600),
    ("Sat 22:00-06:00", {5}, 22 * 3600, 6 * 3600),
    ("Mon-Fri 00:00-24:00", {0, 1, 2, 3, 4}, 0, 24 * 3600),
    ("Fri-Mon 8:30-17:45", {4, 5, 6, 0}, 8 * 3600 + 1800, 17 * 3600 + 2700),
    ("mon-wed,SAT  07:00 - 09:00", {0, 1, 2, 5}, 7 * 3600, 9 * 3600),
])
def test_parse(text: str, days: set[int], start: int, end: int) -> None:
    assert parse_shift(text) == Shift(frozenset(days), start, end)


def test_str_round_trips() -> None:
    shift = parse_shift("Fri-Sun 22:00-06:00")
    assert str(shift) == "Fri,Sat,Sun 22:00-06:00"
    assert parse_shift(str(shift)) == shift


@pytest.mark.parametrize(("text", "message"), [
    ("", "expected '<days> HH:MM-HH:MM'"),
    ("08:00-20:00", "expected '<days> HH:MM-HH:MM'"),
    ("Mon-Sun 08:00", "expected '<days> HH:MM-HH:MM'"),
    ("Mon-Sny 08:00-20:00", "unknown day 'Sny'"),
    ("Mon, 08:00-20:00", "unknown day ''"),
    ("Mon 8h-20:00", "start time '8h' is not HH:MM"),
    ("Mon 08:00-25:00", "end time '25:00' is out of range"),
    ("Mon 08:60-20:00", "start time '08:60' is out of range"),
    ("Mon 24:00-06:00", "start time 24:00"),
    ("Mon 08:00-08:00", "for all day write 00:00-24:00"),
])
def test_syntax_errors_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ShiftSyntaxError, match=message.replace("(", "\\(").replace(")", "\\)")):
        parse_shift(text)


def test_day_shift_bounds() -> None:
    shift = parse_shift("Mon-Fri 08:00-20:00")
    assert not shift.covers(local(MON, 7, 59))
    assert shift.covers(local(MON, 8))
    assert shift.covers(local(MON, 19, 59))
    assert not shift.covers(local(MON, 20))
    assert not shift.covers(local(SAT, 12))


def test_overnight_shift_belongs_to_the_day_it_starts() -> None:
    shift = parse_shift("Sat 22:00-06:00")
    assert not shift.covers(local(SAT, 21, 59))
    assert shift.covers(local(SAT, 22))
    assert shift.covers(local(SUN, 5, 59))
    assert not shift.covers(local(SUN, 6))
    assert not shift.covers(local(SUN, 22))  # Sunday night is not in it
    assert not shift.covers(local(MON, 1))


def test_all_day_shift() -> None:
    shift = parse_shift("Mon-Fri 00:00-24:00")
    assert shift.covers(local(MON, 0)) and shift.covers(local(MON, 23, 59))
    assert not shift.covers(local(SUN, 23, 59))


def who(roster: Roster, grid_id: str, when: datetime) -> str | None:
    worker = roster.on_duty(grid_id, when)
    return worker.id if worker else None


def make_roster() -> Roster:
    day = Worker("w-day", "张三", ("g1", "g2"), (parse_shift("Mon-Sun 08:00-20:00"),))
    night = Worker("w-night", "李四", ("g1",), (parse_shift("Mon-Sun 20:00-08:00"),))
    backup = Worker("w-backup", "王五", ("g1",), (parse_shift("Mon-Sun 00:00-24:00"),))
    return Roster([day, night, backup], SHANGHAI)


def test_on_duty_reads_shifts_in_site_time_whatever_the_input_zone() -> None:
    roster = make_roster()
    # 00:30 UTC is 08:30 in Shanghai (no DST there, ever).
    at_utc = datetime(2024, 6, 3, 0, 30, tzinfo=UTC)
    assert who(roster, "g1", at_utc) == "w-day"
    assert who(roster, "g1", at_utc.astimezone(SHANGHAI)) == "w-day"
    assert who(roster, "g1", at_utc.astimezone(ZoneInfo("America/New_York"))) == "w-day"
    # 13:00 UTC is 21:00 in Shanghai: the night worker, though 13:00 is "day" in UTC.
    assert who(roster, "g1", datetime(2024, 6, 3, 13, 0, tzinfo=UTC)) == "w-night"
    assert roster.on_duty("g2", datetime(2024, 6, 3, 13, 0, tzinfo=UTC)) is None


def test_several_on_duty_first_in_roster_order_wins() -> None:
    roster = make_roster()
    noon = datetime(2024, 6, 3, 12, 0, tzinfo=SHANGHAI)
    assert who(roster, "g1", noon) == "w-day"  # w-backup too, but listed later
    reordered = Roster(list(reversed(roster.workers)), SHANGHAI)
    assert who(reordered, "g1", noon) == "w-backup"


def test_unknown_grid_and_naive_time() -> None:
    roster = make_roster()
    assert roster.on_duty("nowhere", datetime(2024, 6, 3, tzinfo=UTC)) is None
    with pytest.raises(ValueError, match="timezone-aware"):
        roster.on_duty("g1", datetime(2024, 6, 3, 12))


def test_duplicate_worker_ids_are_refused() -> None:
    worker = Worker("w1", "A", ("g1",), ())
    with pytest.raises(ValueError, match="duplicate worker ids"):
        Roster([worker, worker], SHANGHAI)

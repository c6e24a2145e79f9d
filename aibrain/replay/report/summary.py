"""The report's tables and timeline, computed from its rows (the template only lays them out)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace

from aibrain.replay.inputs import format_media_time
from aibrain.replay.outcome import FileOutcome
from aibrain.replay.report.rows import IncidentRow

# Distinct on white and for common colour blindness (Okabe-Ito, then a few more); kinds beyond wrap round.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#7f7f7f", "#000000", "#8c564b")
NO_GRID = "—"
# Seconds between timeline ticks, the first that gives at most MAX_TICKS intervals: round clock values.
TICK_STEPS_S = (0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)
MAX_TICKS = 6


@dataclass(frozen=True)
class KindCount:
    kind: str
    label_zh: str
    count: int
    colour: str


@dataclass(frozen=True)
class GridCount:
    grid_id: str
    name: str
    per_kind: tuple[int, ...]  # in the order of `kind_counts`
    total: int


@dataclass(frozen=True)
class TimelineMark:
    left_pct: float
    number: int
    colour: str
    title: str
    lane: int = 0  # label row: marks close together get their numbers on rows of their own


@dataclass(frozen=True)
class TimelineRow:
    """One file's media time axis: the part replayed, its confirmations, a few tick labels."""

    file: FileOutcome
    length_s: float
    replayed_pct: tuple[float, float]  # left and width of the replayed part
    marks: tuple[TimelineMark, ...]
    ticks: tuple[tuple[float, str], ...]  # (left %, label); none when the file's length is unknown

    @property
    def lanes(self) -> int:
        return 1 + max((mark.lane for mark in self.marks), default=0)


def kind_counts(rows: list[IncidentRow]) -> list[KindCount]:
    """Kinds found, most frequent first; each with its colour in the timeline."""
    counts = Counter(row.record.kind for row in rows)
    labels = {row.record.kind: row.record.kind_label_zh for row in rows}
    ordered = sorted(counts, key=lambda kind: (-counts[kind], kind))
    return [KindCount(kind, labels[kind], counts[kind], PALETTE[index % len(PALETTE)])
            for index, kind in enumerate(ordered)]


def grid_counts(rows: list[IncidentRow], kinds: list[KindCount]) -> list[GridCount]:
    """Incidents per grid and kind, busiest grid first; incidents without a grid under `—`."""
    per_grid: dict[str, Counter[str]] = {}
    names: dict[str, str] = {}
    for row in rows:
        grid = row.record.grid_id or NO_GRID
        per_grid.setdefault(grid, Counter())[row.record.kind] += 1
        names[grid] = row.grid_name if row.record.grid_id else "no grid found"
    table = [GridCount(grid, names[grid], tuple(counts[k.kind] for k in kinds), sum(counts.values()))
             for grid, counts in per_grid.items()]
    return sorted(table, key=lambda g: (-g.total, g.grid_id))


def timeline(files: list[FileOutcome], rows: list[IncidentRow], kinds: list[KindCount]) -> list[TimelineRow]:
    colours = {k.kind: k.colour for k in kinds}
    lines = []
    for replayed in files:
        mine = [row for row in rows if row.record.file == replayed.file]
        latest = max((row.record.media_time_s for row in mine), default=0.0)
        length = max(replayed.duration_s or 0.0, latest, replayed.end_s or 0.0)
        if length <= 0:
            lines.append(TimelineRow(replayed, 0.0, (0.0, 0.0), (), ()))
            continue
        start = min(replayed.start_s, length)
        end = min(replayed.end_s if replayed.end_s is not None else length, length)
        marks = [TimelineMark(
            left_pct=percent(row.record.media_time_s, length), number=row.number, colour=colours[row.record.kind],
            title=f"#{row.number} {row.record.kind_label_zh} {row.record.zone} "
                  f"@ {format_media_time(row.record.media_time_s)}") for row in mine]
        ticks = tuple((percent(at, length), format_media_time(at)) for at in tick_times(length))
        lines.append(TimelineRow(replayed, length, (percent(start, length), percent(end - start, length)),
                                 label_lanes(marks), ticks))
    return lines


def label_lanes(marks: list[TimelineMark], label_pct: float = 3.0) -> tuple[TimelineMark, ...]:
    """Each mark on the first label row where its number does not run into the previous one's."""
    lane_ends: list[float] = []
    placed = []
    for mark in sorted(marks, key=lambda m: (m.left_pct, m.number)):
        lane = next((i for i, end in enumerate(lane_ends) if end <= mark.left_pct), len(lane_ends))
        if lane == len(lane_ends):
            lane_ends.append(0.0)
        lane_ends[lane] = mark.left_pct + label_pct
        placed.append(replace(mark, lane=lane))
    return tuple(placed)


def tick_times(length_s: float) -> list[float]:
    """0, then round steps to `length_s` (a step a whole number of seconds, minutes or hours).

    >>> tick_times(7.5), tick_times(3600)[:3]
    ([0.0, 2.0, 4.0, 6.0], [0.0, 600.0, 1200.0])
    """
    step = next((s for s in TICK_STEPS_S if length_s / s <= MAX_TICKS), length_s / MAX_TICKS)
    return [i * float(step) for i in range(int(length_s / step + 1e-9) + 1)]


def percent(value: float, whole: float) -> float:
    return round(100.0 * min(max(value / whole, 0.0), 1.0), 3)

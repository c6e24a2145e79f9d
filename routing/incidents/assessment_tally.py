"""Assessment arithmetic on fetched incidents: one incident's facts, the figures of a group, percentiles.

Pure Python, no database: `routing.incidents.assessment` fetches the facts and says what each figure means.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime

from routing.incidents.tables import IncidentStatus


@dataclass(frozen=True, slots=True)
class IncidentFacts:
    """What the assessment needs of one incident: its own columns and its first events."""

    grid_id: str | None
    worker_id: str | None
    kind: str
    kind_label: str
    status: IncidentStatus
    created_at: datetime
    accept_by: datetime | None
    resolve_by: datetime | None
    first_accept: datetime | None
    first_resolve: datetime | None
    reopened: bool
    extended: bool

    @property
    def valid(self) -> bool:
        return self.status is not IncidentStatus.FALSE_ALARM

    @property
    def responded_at(self) -> datetime | None:
        """The first ACCEPT, or the first RESOLVE of an incident resolved without accepting."""
        return self.first_accept if self.first_accept is not None else self.first_resolve


def on_time(done: datetime | None, due: datetime | None, now: datetime) -> bool | None:
    """Whether an action met its deadline; None where it is not assessed (no deadline, or not done
    and the deadline not passed yet). Done at the deadline itself is on time.

    >>> from datetime import UTC
    >>> due, now = datetime(2024, 6, 3, 10, tzinfo=UTC), datetime(2024, 6, 3, 9, tzinfo=UTC)
    >>> on_time(due, due, now), on_time(None, due, now), on_time(None, due, due), on_time(None, now, due)
    (True, None, None, False)
    """
    if due is None:
        return None
    if done is not None:
        return done <= due
    return False if now > due else None


def median(values: Sequence[float]) -> float | None:
    """The median (the mean of the two middle values for an even count); None for no values.

    >>> median([4.0, 1.0, 3.0, 2.0]), median([])
    (2.5, None)
    """
    return statistics.median(values) if values else None


def nearest_rank(values: Sequence[float], percent: int) -> float | None:
    """The nearest-rank percentile: the ceil(percent/100 * n)-th smallest value; None for no values.

    >>> nearest_rank([float(v) for v in range(1, 11)], 90), nearest_rank([5.0, 1.0], 90)
    (9.0, 5.0)
    """
    if not values:
        return None
    rank = max(1, -(-percent * len(values) // 100))  # integer ceil: no float rounding at exact ranks
    return sorted(values)[rank - 1]


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass(frozen=True, slots=True)
class AssessmentRow:
    """The figures of one group (a street, community, grid, worker, kind, or the total).

    Counts are kept beside the rates so a page can show "12 / 15"; a rate is a fraction in [0, 1],
    None when its denominator is 0. Durations are seconds, None when no incident has one.
    `routing.incidents.assessment` defines each figure.
    """

    key: str
    label: str
    incidents: int
    false_alarms: int
    valid: int
    accept_assessed: int  # valid incidents whose accept deadline is due or met
    accepted_on_time: int
    resolve_assessed: int
    resolved_on_time: int
    verified: int
    ever_resolved: int
    reopened: int
    extended: int
    median_accept_s: float | None
    p90_accept_s: float | None
    median_resolve_s: float | None
    p90_resolve_s: float | None
    false_alarm_rate: float | None  # 误报率
    accepted_on_time_rate: float | None
    resolved_on_time_rate: float | None  # 按期处置率
    closed_rate: float | None  # 结案率
    reopened_rate: float | None  # 返工率
    extended_rate: float | None  # 延期率


@dataclass(slots=True)
class Tally:
    """Counts and durations of a group, added to one incident at a time."""

    incidents: int = 0
    false_alarms: int = 0
    valid: int = 0
    accept_assessed: int = 0
    accepted_on_time: int = 0
    resolve_assessed: int = 0
    resolved_on_time: int = 0
    verified: int = 0
    ever_resolved: int = 0
    reopened: int = 0
    extended: int = 0
    accept_s: list[float] = field(default_factory=list)
    resolve_s: list[float] = field(default_factory=list)

    def add(self, facts: IncidentFacts, accepted_in_time: bool | None, resolved_in_time: bool | None) -> None:
        """Count one incident; `*_in_time` is its `on_time` verdict (computed once per incident)."""
        self.incidents += 1
        if not facts.valid:
            self.false_alarms += 1
            return
        self.valid += 1
        if accepted_in_time is not None:
            self.accept_assessed += 1
            self.accepted_on_time += accepted_in_time
        if resolved_in_time is not None:
            self.resolve_assessed += 1
            self.resolved_on_time += resolved_in_time
        self.verified += facts.status is IncidentStatus.VERIFIED
        self.reopened += facts.reopened
        self.extended += facts.extended
        responded = facts.responded_at
        if responded is not None:
            self.accept_s.append((responded - facts.created_at).total_seconds())
        if facts.first_resolve is not None:
            self.ever_resolved += 1
            self.resolve_s.append((facts.first_resolve - facts.created_at).total_seconds())

    @classmethod
    def combined(cls, tallies: Iterable[Tally]) -> Tally:
        """One tally of the incidents of all `tallies` (each incident in one of them)."""
        total = cls()
        for tally in tallies:
            for name in _COUNTS:
                setattr(total, name, getattr(total, name) + getattr(tally, name))
            total.accept_s += tally.accept_s
            total.resolve_s += tally.resolve_s
        return total

    def row(self, key: str, label: str) -> AssessmentRow:
        return AssessmentRow(
            key=key, label=label, incidents=self.incidents, false_alarms=self.false_alarms, valid=self.valid,
            accept_assessed=self.accept_assessed, accepted_on_time=self.accepted_on_time,
            resolve_assessed=self.resolve_assessed, resolved_on_time=self.resolved_on_time,
            verified=self.verified, ever_resolved=self.ever_resolved, reopened=self.reopened,
            extended=self.extended,
            false_alarm_rate=_rate(self.false_alarms, self.incidents),
            accepted_on_time_rate=_rate(self.accepted_on_time, self.accept_assessed),
            resolved_on_time_rate=_rate(self.resolved_on_time, self.resolve_assessed),
            closed_rate=_rate(self.verified, self.valid), reopened_rate=_rate(self.reopened, self.ever_resolved),
            extended_rate=_rate(self.extended, self.valid),
            median_accept_s=median(self.accept_s), p90_accept_s=nearest_rank(self.accept_s, 90),
            median_resolve_s=median(self.resolve_s), p90_resolve_s=nearest_rank(self.resolve_s, 90))


_COUNTS = tuple(f.name for f in fields(Tally) if f.name not in ("accept_s", "resolve_s"))


@dataclass(frozen=True, slots=True)
class DailyFigures:
    """One site-local day of the chart, by the day incidents were dispatched."""

    day: date
    incidents: int = 0
    false_alarms: int = 0
    resolved_on_time: int = 0
    verified: int = 0

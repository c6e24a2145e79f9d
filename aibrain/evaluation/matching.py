"""Incidents matched against the truth of one file: right ones, false alarms with why, misses; and the figures.

Pure: no video, no database. An object's window comes from its rule's dwell (`expectation`); an
incident matches an object when the kind is equal, the zone is equal (if the truth gives one), its
media time lies in the window and, if the truth gives a box, the boxes overlap (IoU >= MIN_IOU) or
the incident's bottom-centre (where the object stands) lies in the truth box. Incidents are taken
earliest first and each object is matched once; a later incident that fits a matched object is a
duplicate (a false alarm of its own kind).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np

from aibrain.evaluation.truth import Box, IgnoreEntry, TruthObject

MIN_IOU = 0.3


class Why(StrEnum):
    """Why an incident is a false alarm."""

    NO_SUCH_OBJECT = "no such object"  # nothing of its kind (and zone, and place) stands there
    DUPLICATE = "duplicate"  # its object was confirmed already
    OUTSIDE_WINDOW = "outside its window"  # its object stands there, but confirming then is wrong


@dataclass(frozen=True)
class Confirmation:
    """An incident as matching sees it: where and when in which file, its box in fractions of the frame."""

    file: str
    kind: str
    zone: str
    media_time_s: float
    box: Box
    incident_id: str
    snapshot: str | None


@dataclass(frozen=True)
class Expectation:
    """A truth object with the window in which confirming it is right; None: it must not be confirmed
    (it stands for less than its dwell)."""

    file: str
    object: TruthObject
    window: tuple[float, float] | None
    due_s: float  # stands[0] + dwell_s: time-to-confirm counts from here


def expectation(file: str, obj: TruthObject, dwell_s: float, slack_s: float, span: tuple[float, float]) -> Expectation:
    """`[stands[0] + dwell_s - slack_s, min(stands[1], end) + slack_s]`, or the truth's own window, where `span`
    is the (start, end) evaluated: an object there before the start is seen to arrive at the start.

    >>> from aibrain.evaluation.truth import TruthObject
    >>> car = TruthObject(id="car", kind="motor_parking", stands=(0.0, None))
    >>> expectation("a.mp4", car, dwell_s=4, slack_s=1, span=(0.0, 7.5)).window
    (3.0, 8.5)
    >>> expectation("a.mp4", car, dwell_s=4, slack_s=1, span=(5.0, 7.5)).window is None  # seen for 2.5 s only
    True
    """
    start, end = span
    arrives = max(obj.stands[0], start)
    until = end if obj.stands[1] is None else min(obj.stands[1], end)
    due = arrives + dwell_s
    if obj.confirm_window is not None:
        return Expectation(file, obj, obj.confirm_window, due)
    if until - arrives < dwell_s:
        return Expectation(file, obj, None, due)
    return Expectation(file, obj, (due - slack_s, until + slack_s), due)


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def box_fits(incident: Box, truth: Box) -> bool:
    """The incident's box is the truth's: they overlap enough, or it stands (bottom-centre) inside it."""
    foot_x, foot_y = (incident[0] + incident[2]) / 2, incident[3]
    return iou(incident, truth) >= MIN_IOU or (truth[0] <= foot_x <= truth[2] and truth[1] <= foot_y <= truth[3])


def same_place(seen: Confirmation, kind: str | None, zone: str | None, box: Box | None) -> bool:
    return ((kind is None or seen.kind == kind) and (zone is None or seen.zone == zone)
            and (box is None or box_fits(seen.box, box)))


def in_window(seen: Confirmation, window: tuple[float, float] | None) -> bool:
    return window is not None and window[0] <= seen.media_time_s <= window[1]


def ignored(seen: Confirmation, entries: Iterable[IgnoreEntry]) -> bool:
    return any(same_place(seen, e.kind, e.zone, e.box) and (e.during is None or in_window(seen, e.during))
               for e in entries)


@dataclass(frozen=True)
class Match:
    expected: Expectation
    incident: Confirmation

    @property
    def ttc_s(self) -> float:
        """Time to confirm: from when the object had stood its dwell (in the part evaluated) to the confirmation."""
        return self.incident.media_time_s - self.expected.due_s


@dataclass(frozen=True)
class FalseAlarm:
    incident: Confirmation
    why: Why
    fits: Expectation | None  # the truth object it fits in kind and place, if any

    @property
    def object(self) -> str | None:
        return self.fits.object.id if self.fits else None

    def as_json(self) -> dict[str, Any]:
        seen = self.incident
        return {"file": seen.file, "kind": seen.kind, "media_time_s": seen.media_time_s,
                "incident_id": seen.incident_id, "snapshot": seen.snapshot, "why": str(self.why),
                "object": self.object}


@dataclass(frozen=True)
class Miss:
    expected: Expectation

    def as_json(self) -> dict[str, Any]:
        assert self.expected.window is not None  # only objects that should have been confirmed are missed
        obj = self.expected.object
        return {"file": self.expected.file, "object": obj.id, "kind": obj.kind, "window": list(self.expected.window)}


@dataclass
class FileMatching:
    matches: list[Match] = field(default_factory=list)
    false_alarms: list[FalseAlarm] = field(default_factory=list)
    misses: list[Miss] = field(default_factory=list)
    ignored: list[Confirmation] = field(default_factory=list)


def match_file(incidents: list[Confirmation], expected: list[Expectation],
               ignore: Iterable[IgnoreEntry] = ()) -> FileMatching:
    """Greedy by time, one-to-one. Among the objects an incident fits, the one whose box overlaps most,
    then the one due first. An incident that fits an ignore entry and no object counts neither way."""
    result = FileMatching()
    matched: dict[str, Expectation] = {}  # object id -> its expectation, once confirmed
    for seen in sorted(incidents, key=lambda s: (s.media_time_s, s.incident_id)):
        here = [e for e in expected if same_place(seen, e.object.kind, e.object.zone, e.object.box)]
        timely = [e for e in here if in_window(seen, e.window)]
        free = [e for e in timely if e.object.id not in matched]
        if free:
            best = max(free, key=lambda e: (iou(seen.box, e.object.box) if e.object.box else 0.0, -e.due_s))
            matched[best.object.id] = best
            result.matches.append(Match(best, seen))
        elif timely:
            result.false_alarms.append(FalseAlarm(seen, Why.DUPLICATE, timely[0]))
        elif ignored(seen, ignore):
            result.ignored.append(seen)
        elif here:
            result.false_alarms.append(FalseAlarm(seen, Why.OUTSIDE_WINDOW, here[0]))
        else:
            result.false_alarms.append(FalseAlarm(seen, Why.NO_SUCH_OBJECT, None))
    result.misses = [Miss(e) for e in expected if e.window is not None and e.object.id not in matched]
    return result


@dataclass
class Figures:
    """Counts and rates of one kind, or of all kinds together."""

    tp: int = 0
    fp: int = 0  # duplicates included
    fn: int = 0
    duplicates: int = 0
    ttc_s: list[float] = field(default_factory=list)

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def f1(self) -> float | None:
        p, r = self.precision, self.recall
        if p is None or r is None:
            return None
        return 2 * p * r / (p + r) if p + r else 0.0

    def ttc_percentile(self, q: float) -> float | None:
        return round(float(np.percentile(self.ttc_s, q)), 3) if self.ttc_s else None

    def add(self, other: Figures) -> None:
        self.tp, self.fp, self.fn = self.tp + other.tp, self.fp + other.fp, self.fn + other.fn
        self.duplicates += other.duplicates
        self.ttc_s += other.ttc_s

    def as_json(self) -> dict[str, Any]:
        rate = {name: None if value is None else round(value, 4)
                for name, value in (("precision", self.precision), ("recall", self.recall), ("f1", self.f1))}
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn, "duplicates": self.duplicates, **rate,
                "ttc_median_s": self.ttc_percentile(50), "ttc_p90_s": self.ttc_percentile(90)}


def figures(files: list[FileMatching], expected: list[Expectation]) -> tuple[dict[str, Figures], Figures]:
    """Per kind (those with truth objects or counted incidents, by name) and overall."""
    kinds = {e.object.kind for e in expected}
    kinds |= {m.incident.kind for f in files for m in f.matches} | {a.incident.kind for f in files
                                                                    for a in f.false_alarms}
    per_kind = {kind: Figures() for kind in sorted(kinds)}
    for matching in files:
        for match in matching.matches:
            per_kind[match.incident.kind].tp += 1
            per_kind[match.incident.kind].ttc_s.append(match.ttc_s)
        for alarm in matching.false_alarms:
            per_kind[alarm.incident.kind].fp += 1
            if alarm.why is Why.DUPLICATE:
                per_kind[alarm.incident.kind].duplicates += 1
        for miss in matching.misses:
            per_kind[miss.expected.object.kind].fn += 1
    overall = Figures()
    for kind_figures in per_kind.values():
        overall.add(kind_figures)
    return per_kind, overall

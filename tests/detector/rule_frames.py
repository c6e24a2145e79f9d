"""Synthetic tracked detections for rule tests: objects by kind on a 1000 x 1000 picture whose lower
half is a pavement zone and whose upper half is the road."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import tzinfo

import numpy as np

from detector.detections import Detections
from detector.engine import ObjectFilter, RuleEngine
from detector.rules import Rule
from detector.violation import Violation
from detector.zones import Zone

GAP_S = 10.0  # frames further apart: the camera was offline
T0 = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC
SIZE = (1000, 1000)
# A model whose classes are exactly these object kinds (class id = index).
KINDS = ("non_motor_vehicle", "motor_vehicle", "person", "umbrella", "table", "chair", "poster", "stall")
PAVEMENT = Zone("pavement", frozenset({"sidewalk"}), ((0, 0.5), (1, 0.5), (1, 1), (0, 1)))
ROAD = Zone("road", frozenset({"road"}), ((0, 0), (1, 0), (1, 0.5), (0, 0.5)))


@dataclass(frozen=True)
class Obj:
    """One detection: a box `w` x `h` whose bottom centre is (x, y)."""

    kind: str
    track: int = -1
    x: float = 300
    y: float = 800
    conf: float = 0.8
    w: float = 100
    h: float = 60


def detections(objs: Sequence[Obj]) -> Detections:
    if not objs:
        return Detections.empty()
    xyxy = np.array([[o.x - o.w / 2, o.y - o.h, o.x + o.w / 2, o.y] for o in objs], np.float32)
    return Detections(xyxy, np.array([o.conf for o in objs], np.float32), np.array([KINDS.index(o.kind) for o in objs]),
                      np.array([o.track for o in objs]))


def engine(*rules: Rule, zones: Sequence[Zone] = (PAVEMENT, ROAD), filters: dict[str, ObjectFilter] | None = None,
           tz: tzinfo | None = None) -> RuleEngine:
    class_names = dict(enumerate(KINDS))
    extra = {"tz": tz} if tz is not None else {}
    return RuleEngine("cam-01", class_names, np.arange(len(KINDS)), KINDS, zones, rules, filters, **extra)


Frames = list[tuple[float, Sequence[Obj]]]


def every(start: float, stop: float, *objs: Obj, step: float = 1.0) -> Frames:
    return [(float(t), objs) for t in np.arange(start, stop, step)]


def run(rule_engine: RuleEngine, frames: Sequence[tuple[float, Sequence[Obj]]]) -> list[Violation]:
    """Feed (seconds after T0, objects) frames; all violations in order."""
    return [v for t, objs in frames for v in rule_engine.evaluate(T0 + t, detections(objs), SIZE)]

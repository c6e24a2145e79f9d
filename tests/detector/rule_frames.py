"""Synthetic tracked detections for rule tests: objects by kind on a 1000 x 1000 picture whose lower
half is a pavement zone and whose upper half is the road. Each object is painted in the picture the rules
see, with a pattern of coloured blocks chosen by its `look`: the same look is the same object to the eye."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import tzinfo
from functools import cache, lru_cache

import cv2
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
    look: int = 0  # the pattern painted in its box

    def xyxy(self) -> tuple[float, float, float, float]:
        return (self.x - self.w / 2, self.y - self.h, self.x + self.w / 2, self.y)


@cache
def pattern(look: int, width: int, height: int) -> np.ndarray:
    """A look: 6 x 8 blocks of colours drawn from `look`, stretched to `width` x `height` pixels."""
    blocks = np.random.default_rng(look).integers(0, 256, (6, 8, 3), dtype=np.uint8)
    return cv2.resize(blocks, (width, height), interpolation=cv2.INTER_NEAREST)


@lru_cache(maxsize=16)  # frames repeat their objects; a moving one makes a new picture each frame
def picture(patches: tuple[tuple[tuple[float, float, float, float], int], ...],
            size: tuple[int, int] = SIZE) -> np.ndarray:
    """A grey picture of `size` with each (xyxy box, look) painted in turn (later ones in front); read only."""
    image = np.full((size[1], size[0], 3), 120, np.uint8)
    for box, look in patches:
        x1, y1, x2, y2 = (int(round(v)) for v in box)
        a, b, c, d = max(x1, 0), max(y1, 0), min(x2, size[0]), min(y2, size[1])
        if a < c and b < d:
            image[b:d, a:c] = pattern(look, x2 - x1, y2 - y1)[b - y1:d - y1, a - x1:c - x1]
    image.flags.writeable = False
    return image


def painted(objs: Sequence[Obj]) -> np.ndarray:
    """The picture of `objs`, each painted with its look."""
    return picture(tuple((o.xyxy(), o.look) for o in objs))


def detections(objs: Sequence[Obj]) -> Detections:
    if not objs:
        return Detections.empty()
    xyxy = np.array([o.xyxy() for o in objs], np.float32)
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
    """Feed (seconds after T0, objects) frames, each with its picture; all violations in order."""
    return [v for t, objs in frames for v in rule_engine.evaluate(T0 + t, detections(objs), SIZE, painted(objs))]

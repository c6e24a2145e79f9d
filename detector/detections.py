"""The typed value between backend, tracker and rules (shapes checked on construction)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def _no_tracks(n: int) -> np.ndarray:
    return np.full(n, -1, dtype=np.int64)


@dataclass(frozen=True, slots=True, eq=False)
class Detections:
    """Boxes of one frame in that frame's pixels.

    xyxy: (N, 4) float32 x1, y1, x2, y2; confidence: (N,) float32; class_id: (N,) int64 model class
    ids; tracker_id: (N,) int64, -1 where no track is assigned.

    >>> d = Detections(np.array([[0, 0, 10, 10]], np.float32), np.array([0.9], np.float32),
    ...                np.array([3]))
    >>> len(d), int(d.tracker_id[0])
    (1, -1)
    """

    xyxy: np.ndarray
    confidence: np.ndarray
    class_id: np.ndarray
    tracker_id: np.ndarray = field(default_factory=lambda: _no_tracks(0))

    def __post_init__(self) -> None:
        n = len(self.xyxy)
        object.__setattr__(self, "xyxy", np.asarray(self.xyxy, dtype=np.float32).reshape(n, 4))
        object.__setattr__(self, "confidence", np.asarray(self.confidence, dtype=np.float32))
        object.__setattr__(self, "class_id", np.asarray(self.class_id, dtype=np.int64))
        if len(self.tracker_id) == 0 and n:
            object.__setattr__(self, "tracker_id", _no_tracks(n))
        object.__setattr__(self, "tracker_id", np.asarray(self.tracker_id, dtype=np.int64))
        for name in ("confidence", "class_id", "tracker_id"):
            if getattr(self, name).shape != (n,):
                raise ValueError(f"Detections.{name} has shape {getattr(self, name).shape}, expected ({n},)")

    @classmethod
    def empty(cls) -> Detections:
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64))

    def __len__(self) -> int:
        return len(self.xyxy)

    def select(self, mask: np.ndarray) -> Detections:
        """The detections where `mask` (bool array or index array) selects."""
        return Detections(self.xyxy[mask], self.confidence[mask], self.class_id[mask], self.tracker_id[mask])

    def bottom_centres(self) -> np.ndarray:
        """(N, 2) ground-contact points: where a parked object stands, for zone membership."""
        return np.stack([(self.xyxy[:, 0] + self.xyxy[:, 2]) / 2, self.xyxy[:, 3]], axis=1)

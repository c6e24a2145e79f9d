"""A detector that returns at once: the pipeline's own ceiling, with inference (and its letterbox and
NMS) taken out.

Picked by a weights file with the suffix `.null`, a small YAML file:

    class_names: [person, bicycle, car, ...]   # or {0: person, 1: bicycle, ...}; a model card maps them
    input_size: [640, 640]                     # (height, width) the real model takes; the readers shrink
                                               # pictures to fit it as they would for that model
    detections:                                # optional: the same boxes on every picture
      - {box: [0.1, 0.5, 0.3, 0.9], class: car, score: 0.9}   # box: x1, y1, x2, y2 as fractions

scripts/bench_capacity.py writes one with the COCO names of the shipped model, so the tracker, the rules
and the evidence still get boxes to work on while the detector costs nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field

from detector.backends.backend_options import DEFAULT_OPTIONS, BackendOptions
from detector.detections import Detections

BATCH_LIMIT = 32


class NullBox(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    box: tuple[float, float, float, float] = Field(description="x1, y1, x2, y2 as fractions of the picture")
    class_name: str = Field(alias="class", min_length=1)
    score: float = Field(0.9, gt=0, le=1)


class NullModel(BaseModel):
    """The `.null` file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    class_names: list[str] | dict[int, str] = Field(min_length=1)
    input_size: tuple[int, int] = Field((640, 640), description="(height, width) of the model stood in for")
    detections: list[NullBox] = Field(default_factory=list)


class NullBackend:
    """The Backend interface, answering every picture with the file's fixed boxes in its pixels.

    >>> backend = NullBackend(Path("coco.null"))  # doctest: +SKIP
    >>> backend.detect([np.zeros((360, 640, 3), np.uint8)])[0].xyxy  # doctest: +SKIP
    array([[ 64., 180., 192., 324.]], dtype=float32)
    """

    def __init__(self, weights: Path, options: BackendOptions = DEFAULT_OPTIONS) -> None:
        self.weights = Path(weights)
        model = NullModel.model_validate(yaml.safe_load(self.weights.read_text(encoding="utf-8")))
        names = model.class_names
        self.class_names: dict[int, str] = dict(enumerate(names)) if isinstance(names, list) else dict(names)
        self.input_size: tuple[int, int] = model.input_size
        ids = {name: class_id for class_id, name in self.class_names.items()}
        unknown = sorted({box.class_name for box in model.detections} - set(ids))
        if unknown:
            raise ValueError(f"{self.weights}: detections of classes the file does not name: {unknown}")
        kept = [box for box in model.detections if box.score >= options.conf]  # as a real model's threshold
        self._fractions = Detections(np.array([box.box for box in kept], np.float32).reshape(-1, 4),
                                     np.array([box.score for box in kept], np.float32),
                                     np.array([ids[box.class_name] for box in kept], np.int64))

    @property
    def max_batch(self) -> int:
        return BATCH_LIMIT

    def detect(self, images: Sequence[np.ndarray]) -> list[Detections]:
        """The fixed boxes in each image's pixels, in order."""
        return [self._in_pixels(image.shape[1], image.shape[0]) for image in images]

    def _in_pixels(self, width: int, height: int) -> Detections:
        scale = np.array([width, height, width, height], np.float32)
        return Detections(self._fractions.xyxy * scale, self._fractions.confidence, self._fractions.class_id)

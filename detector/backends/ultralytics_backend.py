"""Ultralytics backend for `.pt` checkpoints (custom-trained models, quick experiments).

Ultralytics (and with it PyTorch) is an optional extra: it is imported only when this backend
is built, so the ONNX serving path never pays for it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from detector.backends.backend_options import DEFAULT_OPTIONS, BackendOptions
from detector.detections import Detections

INSTALL_HINT = "pip install 'aibrain[ultralytics]'"
BATCH_LIMIT = 32


class UltralyticsBackend:
    """A `.pt` model run by `ultralytics.YOLO`, with the interface of `OnnxBackend`.

    >>> backend = UltralyticsBackend(Path("custom.pt"), BackendOptions(device="cuda:0"))  # doctest: +SKIP
    """

    def __init__(self, weights: Path, options: BackendOptions = DEFAULT_OPTIONS) -> None:
        try:
            from ultralytics.models import YOLO
        except ImportError as exc:
            raise ImportError(f"{weights}: .pt models need the Ultralytics extra: {INSTALL_HINT}") from exc
        self.weights = Path(weights)
        self._model = YOLO(str(self.weights))
        self.class_names: dict[int, str] = {int(k): str(v) for k, v in self._model.names.items()}
        self.input_size = (options.imgsz, options.imgsz)  # Ultralytics letterboxes to this side
        self._predict_args: dict[str, Any] = {"conf": options.conf, "iou": options.iou, "max_det": options.max_det,
                                              "imgsz": options.imgsz, "device": options.device, "verbose": False}

    @property
    def max_batch(self) -> int:
        return BATCH_LIMIT

    def detect(self, images: Sequence[np.ndarray]) -> list[Detections]:
        """Detections for each BGR image, in order."""
        results: Iterable[Any] = self._model.predict(list(images), **self._predict_args)
        return [self._detections(r.boxes) for r in results]

    @staticmethod
    def _detections(boxes: Any) -> Detections:
        """Ultralytics' `Boxes` (torch tensors, typed loosely upstream) as numpy Detections."""
        if boxes is None:
            return Detections.empty()
        return Detections(boxes.xyxy.cpu().numpy(), boxes.conf.cpu().numpy(), boxes.cls.cpu().numpy().astype(np.int64))

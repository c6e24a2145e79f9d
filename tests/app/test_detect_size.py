"""The box the readers shrink the detector's picture to fit: the model's own input size."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from aibrain.assemble import LoadedModel, detect_size
from detector.detections import Detections
from detector.model_card import ModelCard

CARD = ModelCard(name="m", description="d", weights=["m.onnx"], licence="l", provenance="p", input_size=320,
                 object_kinds={"car": "motor_vehicle"})


class SizedBackend:
    class_names = {0: "car"}
    max_batch = 1
    input_size = (384, 640)  # (height, width), as OnnxBackend reads it from the model

    def detect(self, images: Sequence[np.ndarray]) -> list[Detections]:
        return [Detections.empty() for _ in images]


def test_the_backend_s_input_size_as_width_and_height() -> None:
    assert detect_size(LoadedModel(SizedBackend(), CARD, Path("m.onnx"))) == (640, 384)

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from detector.backends.onnx_backend import OnnxBackend
from tests.conftest import shared_asset


@pytest.fixture(scope="session")
def yolo_int8_onnx() -> Path:
    return shared_asset("models/yolov8n_int8.onnx")


@pytest.fixture(scope="session")
def onnx_backend(yolo_onnx: Path) -> OnnxBackend:
    return OnnxBackend(yolo_onnx)


@pytest.fixture(scope="session")
def still_image(shared_bike_still: Path) -> np.ndarray:
    image = cv2.imread(str(shared_bike_still))
    assert image is not None
    return image

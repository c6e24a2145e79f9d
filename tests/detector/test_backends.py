from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

from detector.backends.backend import BACKENDS, backend_name, open_backend
from detector.backends.backend_options import BackendOptions
from detector.backends.onnx_backend import OnnxBackend
from detector.backends.ultralytics_backend import UltralyticsBackend
from tests.conftest import shared_asset

BICYCLE = 1


def test_real_weights_find_the_parked_bikes(onnx_backend: OnnxBackend, still_image: np.ndarray) -> None:
    (d,) = onnx_backend.detect([still_image])
    bikes = d.select(d.class_id == BICYCLE)
    assert onnx_backend.class_names[BICYCLE] == "bicycle"
    assert (bikes.confidence > 0.3).sum() >= 2
    h, w = still_image.shape[:2]
    assert (d.xyxy >= 0).all() and (d.xyxy[:, [0, 2]] <= w).all() and (d.xyxy[:, [1, 3]] <= h).all()
    # The yellow shared bike in front fills most of the picture's lower half.
    big = bikes.xyxy[np.argmax((bikes.xyxy[:, 2] - bikes.xyxy[:, 0]) * (bikes.xyxy[:, 3] - bikes.xyxy[:, 1]))]
    assert big[2] - big[0] > w / 2 and big[3] > h * 0.7


def test_fp32_and_int8_agree_on_classes(onnx_backend: OnnxBackend, yolo_int8_onnx: Path,
                                        still_image: np.ndarray) -> None:
    (fp32,) = onnx_backend.detect([still_image])
    (int8,) = OnnxBackend(yolo_int8_onnx).detect([still_image])
    assert sorted(fp32.class_id.tolist()) == sorted(int8.class_id.tolist())


def test_metadata_and_fixed_batch(onnx_backend: OnnxBackend, still_image: np.ndarray) -> None:
    assert len(onnx_backend.class_names) == 80 and onnx_backend.class_names[0] == "person"
    assert onnx_backend.input_size == (640, 640) and onnx_backend.stride == 32
    assert onnx_backend.max_batch == 1
    assert onnx_backend.providers[-1] == "CPUExecutionProvider"
    # More images than the fixed batch run one by one, in order.
    results = onnx_backend.detect([still_image, np.zeros((240, 300, 3), np.uint8), still_image])
    assert [len(r) for r in results][1] == 0
    assert np.array_equal(results[0].xyxy, results[2].xyxy) and len(results[0]) > 0


def test_unavailable_provider_is_refused(yolo_onnx: Path) -> None:
    with pytest.raises(ValueError, match="NoSuchExecutionProvider"):
        OnnxBackend(yolo_onnx, BackendOptions(providers=("NoSuchExecutionProvider",)))


def test_backend_by_suffix(yolo_onnx: Path) -> None:
    assert backend_name(Path("m.onnx")) == "onnx" and backend_name(Path("M.PT")) == "ultralytics"
    assert set(BACKENDS) == {"onnx", "ultralytics", "null"}
    backend = open_backend(yolo_onnx, BackendOptions(conf=0.5, iou=0.6))
    assert isinstance(backend, OnnxBackend) and backend.options == BackendOptions(conf=0.5, iou=0.6)
    with pytest.raises(ValueError, match="engine"):
        backend_name(Path("m.engine"))


def test_ultralytics_backend_without_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ultralytics", None)  # import fails as if not installed
    with pytest.raises(ImportError, match=r"aibrain\[ultralytics\]"):
        UltralyticsBackend(Path("custom.pt"))


def test_ultralytics_backend_agrees_with_onnx_on_the_pt_checkpoint(
        onnx_backend: OnnxBackend, still_image: np.ndarray) -> None:
    """The `.pt` file holds the same weights as the fp32 ONNX file (MODEL.md): same objects found."""
    if os.environ.get("CI") != "true":  # CI installs the extra: there a missing one must fail
        pytest.importorskip("ultralytics", reason="the Ultralytics extra is not installed")
    pt = UltralyticsBackend(shared_asset("models/yolov8n_coco_dq.pt"))
    from_pt, from_onnx = pt.detect([still_image])[0], onnx_backend.detect([still_image])[0]
    assert pt.class_names == onnx_backend.class_names
    assert sorted(from_pt.class_id.tolist()) == sorted(from_onnx.class_id.tolist())
    best_pt, best_onnx = from_pt.confidence.argmax(), from_onnx.confidence.argmax()
    assert abs(float(from_pt.confidence[best_pt]) - float(from_onnx.confidence[best_onnx])) < 0.05
    assert np.abs(from_pt.xyxy[best_pt] - from_onnx.xyxy[best_onnx]).max() < 8  # pixels

"""The rectangular model: the shared YOLOv8n exported with dynamic axes (`aibrain models export --dynamic`,
into the git-ignored export cache), run in the ONNX Runtime backend: the tensor a 16:9 picture gets, boxes
mapped back to its pixels, the same objects as the 640x640 model, the stage CPU it counts, and the
TensorRT profile its sessions are built with (on the CPU build, which falls back)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import onnxruntime as ort
import pytest

from aibrain.model_tools.export import OnnxExport, exported_once
from common.stage_cpu import STAGE_CPU, Stage
from detector.backends.onnx_backend import OnnxBackend
from detector.backends.providers import CPU, CUDA, TENSORRT
from detector.detections import Detections
from tests.conftest import shared_asset


@pytest.fixture(scope="session")
def rect_onnx() -> Path:
    return exported_once(shared_asset("models/yolov8n_coco_dq.pt"), OnnxExport(640, dynamic_batch=True))


@pytest.fixture(scope="session")
def rect_backend(rect_onnx: Path) -> OnnxBackend:
    return OnnxBackend(rect_onnx)


@pytest.fixture(scope="session")
def camera_picture(unbox_1080p: Path) -> np.ndarray:
    """A 1920x1080 street picture: the clip's first frame."""
    with av.open(str(unbox_1080p)) as container:
        picture: np.ndarray = next(container.decode(video=0)).to_ndarray(format="bgr24")
    assert picture.shape == (1080, 1920, 3)
    return picture


def third(picture: np.ndarray) -> np.ndarray:
    small: np.ndarray = cv2.resize(picture, (picture.shape[1] // 3, picture.shape[0] // 3),
                                   interpolation=cv2.INTER_AREA)
    return small


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box of a (N, 4) against every box of b (M, 4)."""
    top_left, bottom_right = np.maximum(a[:, None, :2], b[None, :, :2]), np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(bottom_right - top_left, 0, None), axis=2)
    area_a, area_b = np.prod(a[:, 2:] - a[:, :2], axis=1), np.prod(b[:, 2:] - b[:, :2], axis=1)
    overlaps: np.ndarray = inter / (area_a[:, None] + area_b[None, :] - inter)
    return overlaps


def matched(found: Detections, reference: Detections, min_iou: float) -> float:
    """The share of the reference's boxes with a box of the same class in `found` overlapping it by min_iou."""
    if len(reference.class_id) == 0:
        return 1.0
    overlaps = iou(reference.xyxy, found.xyxy) * (reference.class_id[:, None] == found.class_id[None, :])
    return float((overlaps.max(axis=1, initial=0) >= min_iou).mean())


def test_a_16_9_picture_runs_at_640x384(rect_backend: OnnxBackend, monkeypatch: pytest.MonkeyPatch,
                                       camera_picture: np.ndarray) -> None:
    assert rect_backend.dynamic_shape and rect_backend.input_size == (640, 640) and rect_backend.max_batch == 32
    shapes: list[tuple[int, ...]] = []
    run = rect_backend._session.run

    def recording(names: list[str] | None, feed: dict[str, np.ndarray]) -> Any:
        shapes.append(feed["images"].shape)
        return run(names, feed)

    monkeypatch.setattr(rect_backend._session, "run", recording)
    rect_backend.detect([third(camera_picture), camera_picture])
    assert shapes == [(2, 3, 384, 640)]


def test_boxes_map_back_to_the_picture_s_pixels(rect_backend: OnnxBackend, camera_picture: np.ndarray) -> None:
    """The 640x360 picture is the 1920x1080 one a third the size: its boxes, times 3, are the big one's."""
    small, full = rect_backend.detect([third(camera_picture), camera_picture])
    assert len(small.class_id) >= 3
    assert (small.xyxy[:, [1, 3]] <= 360).all() and (full.xyxy[:, [1, 3]] <= 1080).all()
    scaled = Detections(small.xyxy * 3, small.confidence, small.class_id)
    assert matched(scaled, full, 0.8) >= 0.8 and matched(full, scaled, 0.8) >= 0.8


def test_the_same_objects_as_the_640x640_model(rect_backend: OnnxBackend, onnx_backend: OnnxBackend,
                                               camera_picture: np.ndarray) -> None:
    (rect,), (square,) = rect_backend.detect([camera_picture]), onnx_backend.detect([camera_picture])
    assert not onnx_backend.dynamic_shape
    # Less grey padding shifts scores a little: a weak box may come or go, the objects stay.
    assert matched(rect, square, 0.7) >= 0.8 and matched(square, rect, 0.7) >= 0.8


def test_the_backend_counts_its_three_stages(rect_backend: OnnxBackend, still_image: np.ndarray) -> None:
    before = STAGE_CPU.totals()
    rect_backend.detect([still_image])
    after = STAGE_CPU.totals()
    grown = {stage for stage in Stage if after[stage] > before[stage]}
    assert {Stage.PREPROCESS, Stage.INFERENCE, Stage.POSTPROCESS} <= grown
    assert not grown & {Stage.DECODE, Stage.CONVERSION, Stage.TRACKING_RULES}


@pytest.mark.parametrize(("model", "profile"), [("rect", True), ("square", False)])
def test_tensorrt_gets_a_shape_profile_for_a_dynamic_model_only(
        model: str, profile: bool, rect_onnx: Path, yolo_onnx: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """onnxruntime-gpu lists TensorRT even without a GPU; this CPU build falls back (with a warning)."""
    monkeypatch.setattr(ort, "get_available_providers", lambda: [TENSORRT, CUDA, CPU])
    sessions: list[list[Any]] = []
    real_session = ort.InferenceSession

    def recording(path: str, sess_options: ort.SessionOptions, providers: list[Any]) -> ort.InferenceSession:
        sessions.append(providers)
        return real_session(path, sess_options=sess_options, providers=[CPU])

    monkeypatch.setattr(ort, "InferenceSession", recording)
    OnnxBackend(rect_onnx if model == "rect" else yolo_onnx)
    probe, session = sessions  # the input read on the CPU first, then the session TensorRT builds
    assert probe == [(CPU, {})]
    trt = dict(session)[TENSORRT]
    if profile:
        assert (trt["trt_profile_min_shapes"], trt["trt_profile_opt_shapes"], trt["trt_profile_max_shapes"]) == (
            "images:1x3x32x32", "images:8x3x384x640", "images:32x3x640x640")
    else:
        assert not any(key.startswith("trt_profile") for key in trt)

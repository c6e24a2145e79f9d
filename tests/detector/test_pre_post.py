from __future__ import annotations

import numpy as np

from detector.backends.backend_options import BackendOptions
from detector.backends.postprocess import decode_yolov8, nms
from detector.backends.preprocess import PAD_VALUE, Letterbox, letterbox


def test_letterbox_fixed_square_keeps_ratio_and_pads_grey() -> None:
    wide = np.zeros((360, 640, 3), np.uint8)
    wide[..., 2] = 255  # pure red in BGR
    tensor, boxes = letterbox([wide, np.zeros((640, 320, 3), np.uint8)], (640, 640))
    assert tensor.shape == (2, 3, 640, 640) and tensor.dtype == np.float32
    assert boxes[0] == Letterbox(1.0, 0, 140, 640, 360)
    assert boxes[1] == Letterbox(1.0, 160, 0, 320, 640)
    assert np.allclose(tensor[0, :, 0, 0], PAD_VALUE / 255)  # grey above the picture
    assert np.allclose(tensor[0, :, 320, 320], [1.0, 0.0, 0.0])  # red lands in the R channel


def test_letterbox_with_stride_pads_only_to_the_stride() -> None:
    tensor, boxes = letterbox([np.zeros((1080, 1920, 3), np.uint8)], (640, 640), stride=32)
    assert tensor.shape == (1, 3, 384, 640)  # 360 rounded up to 32
    assert boxes[0].scale == 640 / 1920 and boxes[0].pad_y == 12


def test_letterbox_round_trip_maps_boxes_back() -> None:
    _, (box,) = letterbox([np.zeros((480, 498, 3), np.uint8)], (640, 640))
    original = np.array([[100, 50, 300, 400]], np.float32)
    in_input = original * box.scale + [box.pad_x, box.pad_y, box.pad_x, box.pad_y]
    assert np.allclose(box.to_original(in_input), original, atol=1e-3)
    assert np.allclose(box.to_original(np.array([[-50, -50, 9000, 9000]], np.float32)), [[0, 0, 498, 480]])


def _raw(boxes_cxcywh: list[tuple[float, float, float, float]], scores: list[dict[int, float]],
         nc: int = 3) -> np.ndarray:
    """A [1, 4 + nc, N] output with the given candidates."""
    out = np.zeros((1, 4 + nc, len(boxes_cxcywh)), np.float32)
    for i, (box, per_class) in enumerate(zip(boxes_cxcywh, scores, strict=True)):
        out[0, :4, i] = box
        for class_id, score in per_class.items():
            out[0, 4 + class_id, i] = score
    return out


IDENTITY = Letterbox(1.0, 0, 0, 640, 640)


def test_nms_keeps_the_best_of_overlapping_boxes() -> None:
    out = _raw([(100, 100, 50, 50), (102, 101, 50, 50), (400, 400, 40, 40)], [{1: 0.6}, {1: 0.9}, {1: 0.5}])
    (d,) = decode_yolov8(out, [IDENTITY], BackendOptions())
    assert np.allclose(d.confidence, [0.9, 0.5])
    assert np.allclose(d.xyxy[0], [77, 76, 127, 126]) and d.class_id.tolist() == [1, 1]


def test_nms_is_class_aware() -> None:
    out = _raw([(100, 100, 50, 50), (101, 100, 50, 50)], [{1: 0.8}, {2: 0.7}])
    (d,) = decode_yolov8(out, [IDENTITY], BackendOptions())
    assert sorted(d.class_id.tolist()) == [1, 2]


def test_best_class_confidence_threshold_and_max_det() -> None:
    out = _raw([(100, 100, 20, 20), (300, 300, 20, 20), (500, 500, 20, 20)],
               [{0: 0.3, 2: 0.6}, {1: 0.2}, {0: 0.4}])
    (d,) = decode_yolov8(out, [IDENTITY], BackendOptions())
    assert d.class_id.tolist() == [2, 0]  # the weak candidate is dropped, the best class wins
    (top,) = decode_yolov8(out, [IDENTITY], BackendOptions(max_det=1))
    assert top.class_id.tolist() == [2]


def test_boxes_are_mapped_back_and_clipped() -> None:
    out = _raw([(10, 150, 40, 40)], [{0: 0.9}])
    (d,) = decode_yolov8(out, [Letterbox(0.5, 0, 100, 1280, 880)], BackendOptions())
    assert np.allclose(d.xyxy, [[0, 60, 60, 140]])


def test_empty_output_gives_empty_detections() -> None:
    (d,) = decode_yolov8(np.zeros((1, 84, 8400), np.float32), [IDENTITY], BackendOptions())
    assert len(d) == 0 and d.xyxy.shape == (0, 4)


def test_nms_on_nothing() -> None:
    assert nms(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), 0.5).tolist() == []

"""Decode Ultralytics YOLOv8 raw output into Detections in original frame pixels.

Output layout [B, 4 + nc, N]: rows 0-3 box centre x, centre y, width, height in model-input
pixels, then nc class scores (already sigmoid; YOLOv8 has no objectness row). NMS is not in the graph.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from detector.backends.backend_options import BackendOptions
from detector.backends.preprocess import Letterbox
from detector.boxes import box_iou
from detector.detections import Detections

MAX_NMS_CANDIDATES = 30_000  # as Ultralytics: bounds NMS time on a pathological frame
_CLASS_OFFSET = 8192.0  # > any input side: shifting each class apart makes one NMS class-aware


def nms(xyxy: np.ndarray, scores: np.ndarray, iou: float) -> np.ndarray:
    """Indices of the boxes greedy non-maximum suppression keeps, best score first."""
    order = np.argsort(-scores, kind="stable")
    keep = []
    while order.size:
        best, rest = order[0], order[1:]
        keep.append(best)
        order = rest[box_iou(xyxy[best:best + 1], xyxy[rest])[0] <= iou]
    return np.array(keep, dtype=np.int64)


def decode_one(output: np.ndarray, box: Letterbox, conf: float, iou: float, max_det: int) -> Detections:
    """One image's [4 + nc, N] output -> at most `max_det` Detections, class-aware NMS applied."""
    scores_all = output[4:]
    best_score = scores_all.max(axis=0)
    candidates = np.flatnonzero(best_score > conf)
    if candidates.size > MAX_NMS_CANDIDATES:
        candidates = candidates[np.argsort(-best_score[candidates], kind="stable")[:MAX_NMS_CANDIDATES]]
    # The class only for the few candidates: an argmax over all 8400 anchors costs as much as the max.
    class_id = scores_all[:, candidates].argmax(axis=0)
    score = best_score[candidates]
    cx, cy, w, h = output[:4, candidates]
    xyxy = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
    keep = nms(xyxy + (class_id * _CLASS_OFFSET)[:, None], score, iou)[:max_det]
    return Detections(box.to_original(xyxy[keep]), score[keep], class_id[keep])


def decode_yolov8(output: np.ndarray, boxes: Sequence[Letterbox], options: BackendOptions) -> list[Detections]:
    """A batch's [B, 4 + nc, N] output -> one Detections per image, with the options' thresholds (B may
    exceed len(boxes) when a fixed-batch model was padded; the extra rows are ignored)."""
    return [decode_one(output[i], box, options.conf, options.iou, options.max_det) for i, box in enumerate(boxes)]

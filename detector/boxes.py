"""Vectorised box geometry shared by NMS and the rules."""

from __future__ import annotations

import numpy as np


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(A, B) intersection over union of (A, 4) and (B, 4) xyxy boxes.

    >>> box_iou(np.array([[0, 0, 10, 10]]), np.array([[0, 0, 10, 10], [5, 0, 15, 10]])).round(3).tolist()
    [[1.0, 0.333]]
    """
    top_left = np.maximum(a[:, None, :2], b[None, :, :2])
    bottom_right = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(bottom_right - top_left, 0, None), axis=2)
    area_a = np.prod(a[:, 2:] - a[:, :2], axis=1)
    area_b = np.prod(b[:, 2:] - b[:, :2], axis=1)
    iou: np.ndarray = inter / (area_a[:, None] + area_b[None, :] - inter + 1e-9)
    return iou


def relative_shift(anchor: np.ndarray, box: np.ndarray) -> float:
    """How far `box`'s centre moved from `anchor`'s, as a fraction of the anchor's size:
    the larger of the x shift over its width and the y shift over its height. Works in pixels or in
    fractions of the frame alike."""
    size = np.maximum(anchor[2:] - anchor[:2], 1e-6)
    shift = np.abs((box[:2] + box[2:]) - (anchor[:2] + anchor[2:])) / 2
    return float(np.max(shift / size))

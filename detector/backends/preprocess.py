"""Letterbox a batch of BGR frames into the float32 NCHW RGB 0..1 tensor a YOLO model takes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

PAD_VALUE = 114  # the grey Ultralytics trains with; another value costs accuracy at the borders


@dataclass(frozen=True, slots=True)
class Letterbox:
    """How one image was placed into the model input, to map boxes back to its pixels.

    >>> Letterbox(scale=0.5, pad_x=0, pad_y=80, width=1280, height=480).to_original(
    ...     np.array([[10, 90, 20, 100]], np.float32)).tolist()
    [[20.0, 20.0, 40.0, 40.0]]
    """

    scale: float
    pad_x: int
    pad_y: int
    width: int  # of the original image
    height: int

    def to_original(self, xyxy: np.ndarray) -> np.ndarray:
        """Boxes in model-input pixels -> boxes in original pixels, clipped to the image."""
        pad = np.array([self.pad_x, self.pad_y, self.pad_x, self.pad_y], np.float32)
        boxes = (xyxy - pad) / np.float32(self.scale)
        limits = np.array([self.width, self.height, self.width, self.height], np.float32)
        original: np.ndarray = np.clip(boxes, 0, limits).astype(np.float32)
        return original


def letterbox(images: Sequence[np.ndarray], new_shape: tuple[int, int],
              stride: int | None = None) -> tuple[np.ndarray, list[Letterbox]]:
    """Resize each image keeping its ratio to fit `new_shape` (height, width), pad with grey, centred.

    stride=None pads every image to exactly `new_shape` (models with a fixed input size);
    stride=s pads only to the smallest multiple of s that holds every image of the batch
    (dynamic-shape models: a 16:9 camera then costs about 40 % less compute than a square).
    Returns (B, 3, H, W) float32 RGB in 0..1 and one Letterbox per image.
    """
    if not images:
        raise ValueError("letterbox needs at least one image")
    sizes = np.array([image.shape[:2] for image in images], dtype=np.float64)  # (B, 2) h, w
    scales = np.min(np.array(new_shape, np.float64) / sizes, axis=1)
    resized_hw = np.round(sizes * scales[:, None]).astype(int)
    if stride is None:
        out_h, out_w = new_shape
    else:
        out_h, out_w = (np.ceil(resized_hw.max(axis=0) / stride) * stride).astype(int)
    unit = np.float32(1 / 255)
    grey = np.float32(PAD_VALUE) * unit
    # Each pixel written once, straight into the tensor: the picture one channel at a time (BGR -> RGB,
    # 0..1), then the grey bands around it; no uint8 canvas, no strided whole-batch transpose (issue 13).
    tensor = np.empty((len(images), 3, out_h, out_w), dtype=np.float32)
    boxes = []
    for i, image in enumerate(images):
        h, w = (int(v) for v in resized_hw[i])
        if (h, w) != image.shape[:2]:
            image = cv2.resize(image, (w, h), interpolation=cv2.INTER_LINEAR)
        top, left = (out_h - h) // 2, (out_w - w) // 2
        for channel in range(3):
            np.multiply(image[:, :, 2 - channel], unit, out=tensor[i, channel, top:top + h, left:left + w])
        tensor[i, :, :top], tensor[i, :, top + h:] = grey, grey
        tensor[i, :, top:top + h, :left], tensor[i, :, top:top + h, left + w:] = grey, grey
        boxes.append(Letterbox(float(scales[i]), left, top, int(sizes[i, 1]), int(sizes[i, 0])))
    return tensor, boxes

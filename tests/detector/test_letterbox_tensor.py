"""The letterbox writes each pixel straight into the float32 tensor (issue 13): the same tensor, bit for bit,
as the plain recipe (a grey uint8 canvas, the pictures pasted in, BGR -> RGB, NCHW, / 255), for every
placement: padded above and below, left and right, to the stride, mixed sizes in one batch."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from detector.backends.preprocess import PAD_VALUE, letterbox


def plain_recipe(images: list[np.ndarray], new_shape: tuple[int, int], stride: int | None) -> np.ndarray:
    tensor, boxes = letterbox(images, new_shape, stride)  # the placement is test_pre_post's to check
    canvas = np.full((len(images), tensor.shape[2], tensor.shape[3], 3), PAD_VALUE, np.uint8)
    for i, (image, box) in enumerate(zip(images, boxes, strict=True)):
        h, w = round(image.shape[0] * box.scale), round(image.shape[1] * box.scale)
        resized = image if (h, w) == image.shape[:2] else cv2.resize(image, (w, h), interpolation=cv2.INTER_LINEAR)
        canvas[i, box.pad_y:box.pad_y + h, box.pad_x:box.pad_x + w] = resized
    return np.ascontiguousarray(canvas[..., ::-1].transpose(0, 3, 1, 2), dtype=np.float32) * np.float32(1 / 255)


def noise(height: int, width: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), np.uint8)


@pytest.mark.parametrize(("sizes", "stride"), [
    ([(1080, 1920)], None), ([(360, 640)], None), ([(360, 640)], 32), ([(640, 320)], None),
    ([(360, 640), (480, 640), (576, 704)], 32), ([(360, 640)] * 3, None)],
    ids=["1080p", "16:9 small", "to the stride", "portrait", "mixed batch", "batch"])
def test_the_tensor_is_the_plain_recipes_bit_for_bit(sizes: list[tuple[int, int]], stride: int | None) -> None:
    images = [noise(h, w, seed) for seed, (h, w) in enumerate(sizes)]
    tensor, _ = letterbox(images, (640, 640), stride)
    assert tensor.dtype == np.float32 and tensor.flags.c_contiguous
    np.testing.assert_array_equal(tensor, plain_recipe(images, (640, 640), stride))

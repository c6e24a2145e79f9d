"""How an object looks, and whether an object found again at a remembered place is the same one.

A `Look` keeps a small copy of an object's pixels (longer side at most `REFERENCE_SIDE_PX`) and the box it
came from. Two looks compare by their grey thumbnails (zero-mean normalised cross-correlation: shape and
shading, so two grey cars of different make differ) and by their HSV colour histograms (Bhattacharyya
distance: a white car is not a red one, whatever its outline). Measured on the footage (issue 12): the
same parked car over seconds to minutes in rain scores NCC >= 0.94 and colour <= 0.13; different cars
stopping at the same place score NCC < 0.8 or colour > 0.35 in 98.6 % of pairs.

A partial view (a box inside the remembered one: the object half hidden by passing traffic) is compared on
the region both boxes share only. Comparisons cost microseconds; looks are taken only for the candidates of
a rule's kinds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

import cv2
import numpy as np

REFERENCE_SIDE_PX = 64  # a remembered look is at most this large: enough for a 24 x 16 thumbnail
MIN_SIDE_PX = 4  # a crop (or shared region) thinner than this shows too little to judge
FULL_THUMB = (24, 16)  # (width, height) of the grey thumbnail of a whole object: most objects are wider
PART_THUMB = (16, 16)  # ... of the region a partial view shares with the remembered box
FLAT_STD = 2.0  # grey levels: a thumbnail flatter than this has no shape to correlate
HSV_BINS = [8, 4, 4]  # hue, saturation, value
HSV_RANGES = [0, 180, 0, 256, 0, 256]


class Likeness(Enum):
    """The answer of a look comparison."""

    SAME = "same"
    DIFFERENT = "different"
    UNKNOWN = "cannot tell"  # no picture, or too few pixels: the caller falls back on place alone


@dataclass(frozen=True, slots=True)
class LookThresholds:
    """When two looks are the same object: NCC at least `min_similarity` (0 turns that test off) and
    colour distance at most `max_colour_distance` (1 turns it off)."""

    min_similarity: float
    max_colour_distance: float

    @property
    def off(self) -> bool:
        return self.min_similarity <= 0 and self.max_colour_distance >= 1


@dataclass(frozen=True, slots=True)
class _Features:
    thumb: np.ndarray  # zero-mean, unit-norm grey thumbnail (float32); all zeros when flat
    hist: np.ndarray  # L1-normalised HSV histogram

    def likeness(self, other: _Features, thresholds: LookThresholds) -> Likeness:
        if thresholds.max_colour_distance < 1:
            distance = cv2.compareHist(self.hist, other.hist, cv2.HISTCMP_BHATTACHARYYA)
            if distance > thresholds.max_colour_distance:
                return Likeness.DIFFERENT
        if thresholds.min_similarity > 0:
            if not (self.thumb.any() and other.thumb.any()):
                return Likeness.UNKNOWN  # a flat patch (night, fog, a plain wall) has no shape to compare
            if float(np.dot(self.thumb.ravel(), other.thumb.ravel())) < thresholds.min_similarity:
                return Likeness.DIFFERENT
        return Likeness.SAME


def _features(crop: np.ndarray, thumb_size: tuple[int, int]) -> _Features:
    grey = cv2.resize(cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY), thumb_size, interpolation=cv2.INTER_AREA)
    thumb = grey.astype(np.float32)
    thumb -= thumb.mean()
    norm = float(np.linalg.norm(thumb))
    flat = norm < FLAT_STD * np.sqrt(thumb.size)
    hist = cv2.calcHist([cv2.cvtColor(crop, cv2.COLOR_BGR2HSV)], [0, 1, 2], None, HSV_BINS, HSV_RANGES)
    cv2.normalize(hist, hist, 1, 0, cv2.NORM_L1)
    return _Features(np.zeros_like(thumb) if flat else thumb / norm, hist)


@dataclass(slots=True, eq=False)
class Look:
    """An object's pixels as remembered: `crop` (BGR, a copy, longer side <= REFERENCE_SIDE_PX) of `box`
    (x1, y1, x2, y2 in fractions of the frame)."""

    crop: np.ndarray
    box: np.ndarray
    _whole: _Features | None = field(default=None, repr=False)

    def whole(self) -> _Features:
        """The whole crop's features, worked out once, when first compared."""
        if self._whole is None:
            self._whole = _features(self.crop, FULL_THUMB)
        return self._whole


def _pixels(image: np.ndarray, box: np.ndarray) -> np.ndarray | None:
    """The image's pixels inside `box` (fractions), or None when they are too few."""
    height, width = image.shape[:2]
    x1, y1, x2, y2 = (np.asarray(box, np.float64) * [width, height, width, height]).round().astype(int)
    x1, y1, x2, y2 = max(x1, 0), max(y1, 0), min(x2, width), min(y2, height)
    if x2 - x1 < MIN_SIDE_PX or y2 - y1 < MIN_SIDE_PX:
        return None
    return image[y1:y2, x1:x2]


def look_of(image: np.ndarray | None, box: np.ndarray) -> Look | None:
    """The look of the object in `box` (fractions of `image`), or None without a picture or pixels."""
    crop = None if image is None else _pixels(image, box)
    if crop is None:
        return None
    scale = REFERENCE_SIDE_PX / max(crop.shape[:2])
    if scale < 1:
        size = (max(round(crop.shape[1] * scale), MIN_SIDE_PX), max(round(crop.shape[0] * scale), MIN_SIDE_PX))
        crop = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
    else:
        crop = crop.copy()  # the frame's buffer is not ours to keep
    return Look(crop, np.array(box, np.float64))


def compare(reference: Look | None, image: np.ndarray | None, box: np.ndarray, thresholds: LookThresholds,
            partial: bool = False) -> Likeness:
    """Is the object in `box` (fractions of `image`) the one `reference` shows? With `partial`, `box` is a
    part of the reference's box (the rest hidden) and only the region they share is compared."""
    if thresholds.off:
        return Likeness.SAME  # looks not checked: the place alone decides, as before issue 12
    if reference is None or image is None:
        return Likeness.UNKNOWN
    if not partial:
        now = look_of(image, box)
        return Likeness.UNKNOWN if now is None else reference.whole().likeness(now.whole(), thresholds)
    region = np.concatenate([np.maximum(reference.box[:2], box[:2]), np.minimum(reference.box[2:], box[2:])])
    now_pixels = _pixels(image, region)
    # The same region in the reference's own (smaller) pixels.
    size = np.maximum(reference.box[2:] - reference.box[:2], 1e-9)
    inside = (region - np.tile(reference.box[:2], 2)) / np.tile(size, 2)
    then_pixels = _pixels(reference.crop, inside)
    if now_pixels is None or then_pixels is None:
        return Likeness.UNKNOWN
    return _features(then_pixels, PART_THUMB).likeness(_features(now_pixels, PART_THUMB), thresholds)

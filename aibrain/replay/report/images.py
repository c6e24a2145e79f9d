"""Evidence thumbnails embedded in the report as data URIs, so it shows them with nothing beside it."""

from __future__ import annotations

import base64
from pathlib import Path

import cv2

THUMB_WIDTH = 320
THUMB_JPEG_QUALITY = 80


def thumbnail_uri(image: Path, width: int = THUMB_WIDTH) -> str | None:
    """A JPEG data URI of `image` scaled down to `width` (never up); None when it cannot be read."""
    picture = cv2.imread(str(image))
    if picture is None:
        return None
    height, current = picture.shape[:2]
    if current > width:
        picture = cv2.resize(picture, (width, max(1, round(height * width / current))), interpolation=cv2.INTER_AREA)
    ok, jpeg = cv2.imencode(".jpg", picture, [cv2.IMWRITE_JPEG_QUALITY, THUMB_JPEG_QUALITY])
    return "data:image/jpeg;base64," + base64.b64encode(jpeg.tobytes()).decode("ascii") if ok else None

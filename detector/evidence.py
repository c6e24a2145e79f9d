"""Evidence snapshots: the confirming frame with the object's box, the zone and a caption.

Drawing and writing only; which frame and which object come from the rules. A snapshot that
cannot be written costs the picture, never the incident.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path

import cv2
import numpy as np

from common.redact import describe
from detector.violation import Violation
from streams.frame import Frame

log = logging.getLogger(__name__)

BOX_COLOUR = (0, 0, 255)  # BGR red
ZONE_COLOUR = (0, 220, 255)  # BGR amber
TEXT_COLOUR = (255, 255, 255)
JPEG_QUALITY = 90
_FONT = cv2.FONT_HERSHEY_SIMPLEX
_UNSAFE = re.compile(r"[^\w.-]+")  # camera ids become directory names


def render_evidence(frame: Frame, violation: Violation, zone_polygon_px: np.ndarray | None,
                    tz: tzinfo = UTC) -> np.ndarray:
    """A copy of the frame with the zone outline, the object's box, a label
    (`kind class confidence`) above the box and the frame time (ISO, in `tz`) at the top left."""
    image = frame.image.copy()
    thickness = max(2, round(max(frame.width, frame.height) / 400))
    scale = max(0.5, max(frame.width, frame.height) / 1600)
    if zone_polygon_px is not None:
        outline = zone_polygon_px.astype(np.int32).reshape(-1, 1, 2)
        cv2.polylines(image, [outline], True, ZONE_COLOUR, thickness)
    x1, y1, x2, y2 = (round(v) for v in violation.bbox)
    cv2.rectangle(image, (x1, y1), (x2, y2), BOX_COLOUR, thickness)
    what = violation.class_name if violation.object_count == 1 else f"{violation.object_count} objects"
    label = f"{violation.kind} {what} {violation.confidence:.2f}"
    _caption(image, label, (x1, max(y1, 0)), scale, BOX_COLOUR)
    stamp = datetime.fromtimestamp(frame.ts, tz).isoformat(timespec="seconds")
    _caption(image, f"{frame.camera_id} {stamp}", (0, 0), scale, (0, 0, 0), below=True)
    return image


def _caption(image: np.ndarray, text: str, corner: tuple[int, int], scale: float,
             background: tuple[int, int, int], below: bool = False) -> None:
    """Text on a filled band whose top-left (below=True) or bottom-left is `corner`, kept on the image."""
    (w, h), baseline = cv2.getTextSize(text, _FONT, scale, 1)
    band_h = h + baseline + 4
    x = min(max(corner[0], 0), max(image.shape[1] - w - 4, 0))
    top = corner[1] if below else corner[1] - band_h
    top = min(max(top, 0), max(image.shape[0] - band_h, 0))
    cv2.rectangle(image, (x, top), (x + w + 4, top + band_h), background, cv2.FILLED)
    cv2.putText(image, text, (x + 2, top + h + 2), _FONT, scale, TEXT_COLOUR, 1, cv2.LINE_AA)


def evidence_path(frame: Frame, violation: Violation, out_dir: Path, tz: tzinfo = UTC) -> Path:
    """out_dir/<camera>/<YYYY-MM-DD>/<HHMMSS.mmm>_<kind>_t<track>_<x>-<y>.jpg, date and time in `tz`;
    the box corner keeps two untracked (t-1) objects confirmed on one frame apart."""
    when = datetime.fromtimestamp(frame.ts, tz)
    x, y = (round(v) for v in violation.bbox[:2])
    stamp = f"{when:%H%M%S}.{when.microsecond // 1000:03d}"
    name = f"{stamp}_{violation.kind}_t{violation.track_id}_{x}-{y}.jpg"
    return out_dir / _UNSAFE.sub("_", frame.camera_id) / f"{when:%Y-%m-%d}" / name


def write_evidence(frame: Frame, violation: Violation, zone_polygon_px: np.ndarray | None, out_dir: Path,
                   tz: tzinfo = UTC) -> Path:
    """Render the snapshot and write it as JPEG; returns its path."""
    path = evidence_path(frame, violation, out_dir, tz)
    path.parent.mkdir(parents=True, exist_ok=True)
    image = render_evidence(frame, violation, zone_polygon_px, tz)
    if not cv2.imwrite(str(path), image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]):
        raise OSError(f"camera {frame.camera_id}: could not write evidence {path}")
    return path


@dataclass
class EvidenceWrites:
    """One camera's snapshot writes: `write` returns None instead of raising when the folder cannot
    take the picture (disk full, a mount gone), so the violation goes on without it. The first
    failure after a success is logged as an ERROR, the rest of that burst not, so a full disk
    does not flood the log at the frame rate; the first success after it is logged too.
    """

    failing: bool = False

    def write(self, frame: Frame, violation: Violation, zone_polygon_px: np.ndarray | None, out_dir: Path,
              tz: tzinfo = UTC) -> Path | None:
        try:
            path = write_evidence(frame, violation, zone_polygon_px, out_dir, tz)
        except Exception as exc:  # noqa: BLE001 - whatever breaks the picture, the incident goes on
            if not self.failing:
                self.failing = True
                log.error("camera %s: evidence snapshots cannot be written to %s (%s); incidents are stored "
                          "and sent without a snapshot until writes work again", frame.camera_id, out_dir,
                          describe(exc))
            return None
        if self.failing:
            self.failing = False
            log.info("camera %s: evidence snapshots are written to %s again", frame.camera_id, out_dir)
        return path


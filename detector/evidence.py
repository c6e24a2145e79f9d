"""Evidence snapshots: the confirming frame with the object's box, the zone and a caption; and beside
each, for training data, the same frame clean (`<stem>.frame.jpg`) with every detection of it
(`<stem>.dets.json`, DETECTIONS_VERSION).

Drawing and writing only; which frame and which object come from the rules. A snapshot that
cannot be written costs the picture, never the incident; a clean frame that cannot, only itself.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from enum import StrEnum
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw
from PIL.ImageFont import FreeTypeFont

from common.redact import describe
from detector.caption_font import caption_font
from detector.detections import Detections
from detector.violation import Violation
from streams.frame import Frame

log = logging.getLogger(__name__)

BOX_COLOUR = (0, 0, 255)  # BGR red
ZONE_COLOUR = (0, 220, 255)  # BGR amber
TEXT_COLOUR = (255, 255, 255)
JPEG_QUALITY = 90
FRAME_JPEG_QUALITY = 95  # training pictures: q90 artefacts would be learnt; q95 is 1024x576 in ~0.2 MB
DETECTIONS_VERSION = 1  # of the `.dets.json` sidecar (detections_sidecar)
FRAME_SUFFIX = ".frame.jpg"  # the names beside a snapshot `<stem>.jpg`, which the dataset export reads back
DETECTIONS_SUFFIX = ".dets.json"
_FONT = cv2.FONT_HERSHEY_SIMPLEX  # ASCII only
CJK_PX_PER_SCALE = 34  # CJK font size per cv2 scale step: ideographs a little taller than cv2's capitals
_INK_LEVELS = (np.arange(256, dtype=np.float32) / 255)[:, None]  # ink 0-255 -> share of the text colour
_UNSAFE = re.compile(r"[^\w.-]+")  # camera ids become directory names


class EvidencePicture(StrEnum):
    """Which stream a sub-stream camera's (`detect_url`) evidence shows: the main stream's keyframe grabbed for
    it, or, when the main stream gave none in time, the detection frame's sub-stream picture scaled up."""

    MAIN_STREAM = "main-stream"
    SUB_STREAM = "sub-stream"


@dataclass(frozen=True, slots=True)
class PictureSource:
    """Where a sub-stream camera's evidence picture came from and when it was taken (wall clock); the sidecar
    keeps both beside the detection frame's `ts` (a main-stream keyframe comes up to a keyframe interval later)."""

    picture: EvidencePicture
    ts: float


def render_evidence(frame: Frame, violation: Violation, zone_polygon_px: np.ndarray | None,
                    tz: tzinfo = UTC, label: str | None = None) -> np.ndarray:
    """A copy of the frame with the zone outline, the object's box, a caption (`label kind class
    confidence`; `label` is the kind's 中文 name, left out when None or no CJK font is installed) above
    the box and the frame time (ISO, in `tz`) at the top left."""
    image = frame.image.copy()
    thickness = max(2, round(max(frame.width, frame.height) / 400))
    scale = max(0.5, max(frame.width, frame.height) / 1600)
    if zone_polygon_px is not None:
        outline = zone_polygon_px.astype(np.int32).reshape(-1, 1, 2)
        cv2.polylines(image, [outline], True, ZONE_COLOUR, thickness)
    x1, y1, x2, y2 = (round(v) for v in violation.bbox)
    cv2.rectangle(image, (x1, y1), (x2, y2), BOX_COLOUR, thickness)
    what = violation.class_name if violation.object_count == 1 else f"{violation.object_count} objects"
    code = f"{violation.kind} {what} {violation.confidence:.2f}"
    font = caption_font(round(CJK_PX_PER_SCALE * scale)) if label else None
    if label and font is not None:
        ink = _side_by_side(_cjk_ink(label, font), _ascii_ink(f" {code}", scale))
    else:
        ink = _side_by_side(_ascii_ink(code, scale))
    _caption(image, ink, (x1, max(y1, 0)), BOX_COLOUR)
    stamp = datetime.fromtimestamp(frame.ts, tz).isoformat(timespec="seconds")
    _caption(image, _side_by_side(_ascii_ink(f"{frame.camera_id} {stamp}", scale)), (0, 0), (0, 0, 0), below=True)
    return image


def _caption(image: np.ndarray, ink: np.ndarray, corner: tuple[int, int], background: tuple[int, int, int],
             below: bool = False) -> None:
    """Text (its ink, 0-255) on a filled band whose top-left (below=True) or bottom-left is `corner`, kept
    on the image; only the band's pixels are touched, so a snapshot stays cheap on the inference thread."""
    band_h, band_w = ink.shape
    x = min(max(corner[0], 0), max(image.shape[1] - band_w, 0))
    top = corner[1] if below else corner[1] - band_h
    top = min(max(top, 0), max(image.shape[0] - band_h, 0))
    band = image[top:top + band_h, x:x + band_w]  # a view: a band wider than the image is cut at its edge
    back = np.array(background, np.float32)
    shades = (back + (np.array(TEXT_COLOUR, np.float32) - back) * _INK_LEVELS + 0.5).astype(np.uint8)
    band[:] = np.take(shades, ink[:band.shape[0], :band.shape[1]], axis=0)  # a colour per ink level, no float band


_Ink = tuple[np.ndarray, int]  # a text's mask (0-255, 2 px margin) and the row of its baseline


def _ascii_ink(text: str, scale: float) -> _Ink:
    """ASCII text in cv2's font, which every install has."""
    (w, h), descent = cv2.getTextSize(text, _FONT, scale, 1)
    mask = np.zeros((h + descent + 4, w + 4), np.uint8)
    cv2.putText(mask, text, (2, h + 2), _FONT, scale, 255, 1, cv2.LINE_AA)
    return mask, h + 2


def _cjk_ink(text: str, font: FreeTypeFont) -> _Ink:
    """中文 text drawn by Pillow in the CJK font, cropped to its glyphs."""
    left_f, top_f, right_f, bottom_f = font.getbbox(text, anchor="ls")
    left, top, right, bottom = math.floor(left_f), math.floor(top_f), math.ceil(right_f), math.ceil(bottom_f)
    picture = Image.new("L", (right - left + 4, bottom - top + 4))
    ImageDraw.Draw(picture).text((2 - left, 2 - top), text, fill=255, font=font, anchor="ls")
    return np.asarray(picture), 2 - top


def _side_by_side(*inks: _Ink) -> np.ndarray:
    """The inks in a row on one baseline: a CJK font (Droid Sans Fallback has no Latin letters) beside cv2's."""
    above = max(baseline for _, baseline in inks)
    below = max(mask.shape[0] - baseline for mask, baseline in inks)
    return np.hstack([np.pad(mask, ((above - baseline, below - mask.shape[0] + baseline), (0, 0)))
                      for mask, baseline in inks])


def evidence_path(frame: Frame, violation: Violation, out_dir: Path, tz: tzinfo = UTC) -> Path:
    """out_dir/<camera>/<YYYY-MM-DD>/<HHMMSS.mmm>_<kind>_t<track>_<x>-<y>.jpg, date and time in `tz`;
    the box corner keeps two untracked (t-1) objects confirmed on one frame apart."""
    when = datetime.fromtimestamp(frame.ts, tz)
    x, y = (round(v) for v in violation.bbox[:2])
    stamp = f"{when:%H%M%S}.{when.microsecond // 1000:03d}"
    name = f"{stamp}_{violation.kind}_t{violation.track_id}_{x}-{y}.jpg"
    return out_dir / _UNSAFE.sub("_", frame.camera_id) / f"{when:%Y-%m-%d}" / name


def write_evidence(frame: Frame, violation: Violation, zone_polygon_px: np.ndarray | None, out_dir: Path,
                   tz: tzinfo = UTC, label: str | None = None) -> Path:
    """Render the snapshot (`label`: the kind's 中文 name, if it has one) and write it as JPEG; returns its path."""
    path = evidence_path(frame, violation, out_dir, tz)
    path.parent.mkdir(parents=True, exist_ok=True)
    image = render_evidence(frame, violation, zone_polygon_px, tz, label)
    if not cv2.imwrite(str(path), image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]):
        raise OSError(f"camera {frame.camera_id}: could not write evidence {path}")
    return path


def frame_path(snapshot: Path) -> Path:
    """The clean frame beside a snapshot: `<snapshot stem>.frame.jpg`."""
    return snapshot.with_name(snapshot.stem + FRAME_SUFFIX)


def detections_path(snapshot: Path) -> Path:
    """The detections' sidecar beside a snapshot: `<snapshot stem>.dets.json`."""
    return snapshot.with_name(snapshot.stem + DETECTIONS_SUFFIX)


def detections_sidecar(frame: Frame, violation: Violation, detections: Detections,
                       class_names: Mapping[int, str], source: PictureSource | None = None) -> dict[str, object]:
    """What the clean frame shows, as its sidecar holds it (JSON, version DETECTIONS_VERSION): every one of
    `detections` (all classes and confidences, pixel boxes, the tracker's id or null), the model's whole class
    map, and the violation (`class_id` null for a class the map does not name). For a sub-stream camera,
    `source`: the picture's stream (`picture`: main-stream or sub-stream) and when it was taken (`picture_ts`;
    `ts` stays the detection frame's, which the boxes were found on)."""
    names = {int(class_id): name for class_id, name in class_names.items()}
    ids = {name: class_id for class_id, name in sorted(names.items(), reverse=True)}  # the lowest id of a name
    return {
        "version": DETECTIONS_VERSION, "camera_id": frame.camera_id, "ts": frame.ts,
        "frame_size": [frame.width, frame.height],
        "class_names": {str(class_id): name for class_id, name in sorted(names.items())},
        "detections": [{"class_id": int(class_id), "class_name": names.get(int(class_id), str(class_id)),
                        "xyxy": [round(float(v), 2) for v in box], "confidence": round(float(confidence), 4),
                        "track_id": int(track) if track >= 0 else None}
                       for box, confidence, class_id, track in zip(detections.xyxy, detections.confidence,
                                                                    detections.class_id, detections.tracker_id,
                                                                    strict=True)],
        "violation": {"id": violation.id, "kind": violation.kind, "bbox": [round(v, 2) for v in violation.bbox],
                      "class_id": ids.get(violation.class_name), "object_count": violation.object_count},
    } | ({"picture": source.picture.value, "picture_ts": source.ts} if source is not None else {})


def write_frame(frame: Frame, violation: Violation, detections: Detections, class_names: Mapping[int, str],
                snapshot: Path, source: PictureSource | None = None) -> Path:
    """Write the clean frame (JPEG, FRAME_JPEG_QUALITY) and its detections' sidecar beside `snapshot`; returns
    the frame's path. Both or neither: a sidecar that cannot be written takes the frame away again."""
    path = frame_path(snapshot)
    if not cv2.imwrite(str(path), frame.image, [cv2.IMWRITE_JPEG_QUALITY, FRAME_JPEG_QUALITY]):
        raise OSError(f"camera {frame.camera_id}: could not write the clean frame {path}")
    try:
        text = json.dumps(detections_sidecar(frame, violation, detections, class_names, source), ensure_ascii=False)
        detections_path(snapshot).write_text(text + "\n", encoding="utf-8")
    except Exception:
        path.unlink(missing_ok=True)
        raise
    return path


@dataclass
class WriteFailures:
    """One camera's failing writes of one sort of evidence file, logged once per burst: the first failure
    after a success as an ERROR, the rest of that burst not, so a full disk does not flood the log at the
    frame rate; the first success after it is logged too."""

    what: str  # the files, e.g. "evidence snapshots"
    meanwhile: str  # what happens without them

    failing: bool = False

    def failed(self, camera_id: str, out_dir: Path, exc: BaseException) -> None:
        if not self.failing:
            self.failing = True
            log.error("camera %s: %s cannot be written to %s (%s); %s until writes work again", camera_id,
                      self.what, out_dir, describe(exc), self.meanwhile)

    def worked(self, camera_id: str, out_dir: Path) -> None:
        if self.failing:
            self.failing = False
            log.info("camera %s: %s are written to %s again", camera_id, self.what, out_dir)


def _snapshot_failures() -> WriteFailures:
    return WriteFailures("evidence snapshots", "incidents are stored and sent without a snapshot")


def _frame_failures() -> WriteFailures:
    return WriteFailures("clean frames (training data)", "incidents are stored and sent without their clean frame")


@dataclass
class EvidenceWrites:
    """One camera's evidence writes: `write` and `write_frame` return None instead of raising when the
    folder cannot take the files (disk full, a mount gone), so the violation goes on without them; each
    sort of file's failures are logged once per burst (WriteFailures).
    """

    snapshots: WriteFailures = field(default_factory=_snapshot_failures)
    frames: WriteFailures = field(default_factory=_frame_failures)

    def write(self, frame: Frame, violation: Violation, zone_polygon_px: np.ndarray | None, out_dir: Path,
              tz: tzinfo = UTC, label: str | None = None) -> Path | None:
        try:
            path = write_evidence(frame, violation, zone_polygon_px, out_dir, tz, label)
        except Exception as exc:  # noqa: BLE001 - whatever breaks the picture, the incident goes on
            self.snapshots.failed(frame.camera_id, out_dir, exc)
            return None
        self.snapshots.worked(frame.camera_id, out_dir)
        return path

    def write_frame(self, frame: Frame, violation: Violation, detections: Detections,
                    class_names: Mapping[int, str], snapshot: Path, source: PictureSource | None = None) -> Path | None:
        """The clean frame and its sidecar beside `snapshot` (write_frame); None when they cannot be written."""
        try:
            path = write_frame(frame, violation, detections, class_names, snapshot, source)
        except Exception as exc:  # noqa: BLE001 - whatever breaks the files, the incident goes on
            self.frames.failed(frame.camera_id, snapshot.parent, exc)
            return None
        self.frames.worked(frame.camera_id, snapshot.parent)
        return path

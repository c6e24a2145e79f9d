"""What confirming kept of an incident's frame (contract C1, written by detector/evidence.py): the clean
frame `<stem>.frame.jpg` and its detections `<stem>.dets.json`, read and checked.

The sidecar holds EVERY detection of the frame (all classes, all confidences, pixel boxes) and the
model's whole class map, so a training image can label the other cars too, and a fine-tune can keep
the base model's class ids.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from PIL import Image, UnidentifiedImageError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from detector.evidence import DETECTIONS_SUFFIX, FRAME_SUFFIX

Box = tuple[float, float, float, float]  # x1, y1, x2, y2 in the frame's pixels


class SidecarDetection(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    class_id: int = Field(ge=0)
    class_name: str
    xyxy: Box
    confidence: float = Field(ge=0, le=1)
    track_id: int | None = None


class SidecarViolation(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str
    kind: str
    bbox: Box
    class_id: int = Field(ge=0)
    object_count: int = Field(1, ge=1)


class Sidecar(BaseModel):
    """`<stem>.dets.json`, version 1. Fields added later by the writer are ignored, not refused."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    version: Literal[1]
    camera_id: str
    ts: float
    frame_size: tuple[int, int] = Field(description="width, height")
    class_names: dict[int, str] = Field(min_length=1)
    detections: list[SidecarDetection]
    violation: SidecarViolation

    @model_validator(mode="after")
    def classes_are_the_models(self) -> Sidecar:
        width, height = self.frame_size
        if width <= 0 or height <= 0:
            raise ValueError(f"frame_size {list(self.frame_size)} is not a picture's size")
        unknown = sorted(({d.class_id for d in self.detections} | {self.violation.class_id}) - set(self.class_names))
        if unknown:
            raise ValueError(f"class ids {unknown} are not in class_names")
        return self


@dataclass(frozen=True)
class KeptFrame:
    """An incident's clean frame and its detections, both read and found consistent."""

    frame: Path
    sidecar_path: Path
    sidecar: Sidecar


class EvidenceMissing(Exception):
    """The incident's frame or sidecar is missing or unusable; the message names the file and why."""


def sidecar_path(frame: Path) -> Path:
    """`.../090004.000_motor_parking_t3.frame.jpg` -> `.../090004.000_motor_parking_t3.dets.json`."""
    stem = frame.name.removesuffix(FRAME_SUFFIX) if frame.name.endswith(FRAME_SUFFIX) else frame.stem
    return frame.with_name(stem + DETECTIONS_SUFFIX)


def read_kept_frame(frame: Path, incident_id: str, camera_id: str) -> KeptFrame:
    """The frame at `frame` and its sidecar, checked against the incident and each other; raises
    EvidenceMissing naming the file at fault."""
    sidecar_file = sidecar_path(frame)
    if not frame.is_file():
        raise EvidenceMissing(f"frame {frame} is missing")
    if not sidecar_file.is_file():
        raise EvidenceMissing(f"sidecar {sidecar_file} is missing")
    try:
        sidecar = Sidecar.model_validate(json.loads(sidecar_file.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EvidenceMissing(f"sidecar {sidecar_file} is unreadable: {exc}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "(top level)"
        raise EvidenceMissing(f"sidecar {sidecar_file}: {field}: {first['msg']}") from None
    if sidecar.violation.id != incident_id or sidecar.camera_id != camera_id:
        raise EvidenceMissing(f"sidecar {sidecar_file} describes violation {sidecar.violation.id} of "
                              f"{sidecar.camera_id}, not this incident")
    try:
        with Image.open(frame) as image:  # reads the header only
            size = image.size
    except (OSError, UnidentifiedImageError):
        raise EvidenceMissing(f"frame {frame} is not a picture") from None
    if size != sidecar.frame_size:
        raise EvidenceMissing(f"frame {frame} is {size[0]}x{size[1]}, its sidecar {sidecar_file} says "
                              f"{sidecar.frame_size[0]}x{sidecar.frame_size[1]}")
    return KeptFrame(frame, sidecar_file, sidecar)

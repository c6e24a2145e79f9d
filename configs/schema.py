"""The site YAML schema (a public contract: extend it, keep these names).

Field-level checks live here as validators; checks that span fields or files live in
`configs.checks`, so that `configs.load.load_site` can report all of them in one go.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from shapely.geometry import Polygon
from shapely.validation import explain_validity

from detector.rules import KIND_DEFAULTS
from detector.violation import ViolationKind
from routing.roster import ShiftSyntaxError, parse_shift
from streams.frame import DecodePolicy

Identifier = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")]

class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ZoneConfig(Strict):
    """A polygon in the camera picture, in fractions (0..1) of its width and height."""

    name: Identifier
    grid: Identifier | None = Field(None, description="grid id in the GeoJSON; default: camera location")
    tags: list[Identifier] = Field(default_factory=list, description="rules apply to zones by tag")
    polygon: list[tuple[float, float]]

    @field_validator("polygon")
    @classmethod
    def polygon_is_usable(cls, points: list[tuple[float, float]]) -> list[tuple[float, float]]:
        if len(points) < 3:
            raise ValueError(f"a polygon needs at least 3 points, got {len(points)}")
        outside = [p for p in points if not (0.0 <= p[0] <= 1.0 and 0.0 <= p[1] <= 1.0)]
        if outside:
            raise ValueError(f"points must be fractions 0..1 of the frame size; outside: {outside[:3]}")
        shape = Polygon(points)
        if not shape.is_valid:
            raise ValueError(f"invalid polygon: {explain_validity(shape)}")
        if shape.area <= 0:
            raise ValueError("polygon has no area")
        return points


class CameraConfig(Strict):
    id: Identifier
    name: str = Field(min_length=1)
    url: SecretStr = Field(description="rtsp://user:pass@host/stream, or a video file path")
    detect_fps: float = Field(1.0, gt=0, le=60)
    decode: DecodePolicy = DecodePolicy.KEYFRAMES
    loop: bool = Field(False, description="files only: start again at the end, like a camera")
    location: tuple[float, float] | None = Field(None, description="lon, lat of the camera")
    open_timeout_s: float = Field(10.0, gt=0, le=120)
    read_timeout_s: float = Field(10.0, gt=0, le=120)
    reconnect_max_s: float = Field(15.0, ge=1, le=600, description="cap of the reconnect backoff")
    zones: list[ZoneConfig] = Field(min_length=1)

    @field_validator("location")
    @classmethod
    def location_is_lon_lat(cls, value: tuple[float, float] | None) -> tuple[float, float] | None:
        if value is not None and not (-180 <= value[0] <= 180 and -90 <= value[1] <= 90):
            raise ValueError("location must be [lon, lat] in degrees")
        return value


class WorkerConfig(Strict):
    id: Identifier
    name: str = Field(min_length=1)
    grids: list[Identifier] = Field(min_length=1)
    shifts: list[str] = Field(min_length=1, description='e.g. "Mon-Sun 08:00-20:00", "Sat 22:00-06:00"')

    @field_validator("shifts")
    @classmethod
    def shifts_parse(cls, shifts: list[str]) -> list[str]:
        bad = []
        for text in shifts:
            try:
                parse_shift(text)
            except ShiftSyntaxError as exc:
                bad.append(f"{text!r}: {exc}")
        if bad:
            raise ValueError("bad shift syntax: " + "; ".join(bad))
        return shifts


class RuleConfig(Strict):
    kind: ViolationKind
    zone_tags: list[Identifier] = Field(min_length=1)
    dwell_s: float = Field(gt=0, le=7 * 86400)
    objects: list[str] | None = Field(None, description="object kinds; default: the kind's usual ones")
    min_confidence: float = Field(0.3, ge=0, le=1)
    max_displacement: float = Field(0.3, gt=0, le=5, description="stationary: moved < this x box size")
    lost_tolerance_s: float = Field(30.0, ge=0, description="unseen this long (occlusion) before forgotten")
    accept_within_min: float = Field(30.0, gt=0)
    resolve_within_min: float = Field(120.0, gt=0)

    def object_kinds(self) -> tuple[str, ...]:
        """The rule's object kinds, else those its violation kind usually looks for."""
        if self.objects is not None:
            return tuple(self.objects)
        defaults = KIND_DEFAULTS.get(self.kind)
        return tuple(sorted(defaults.object_kinds)) if defaults else ()


class DetectorConfig(Strict):
    confidence: float = Field(0.25, gt=0, lt=1)
    iou: float = Field(0.45, gt=0, lt=1)
    max_batch: int = Field(8, ge=1, le=256)
    max_wait_ms: float = Field(20.0, ge=0, le=1000)
    max_frame_gap_s: float = Field(10.0, gt=0, description="longer gaps between frames = camera offline")


class SiteConfig(Strict):
    timezone: str = "Asia/Shanghai"
    database: SecretStr = SecretStr("sqlite:///var/aibrain.db")
    broker: SecretStr | None = Field(None, description="amqp(s) URL; absent = incidents kept in the outbox")
    queue_prefix: Identifier = "aibrain"
    fallback_queue: Identifier = Field("unassigned", description="queue suffix for grids with nobody on duty")
    evidence_dir: Path = Path("var/evidence")
    model: str = Field("yolov8n", description="model card name under models/, or a path to .onnx/.pt")
    model_card: str = Field("yolov8n", description="card giving object kinds when `model` is a path")
    model_dirs: list[Path] = Field(default_factory=list, description="where card weights are looked for")
    grids: Path
    detector: DetectorConfig = Field(default_factory=DetectorConfig)
    workers: list[WorkerConfig] = Field(min_length=1)
    cameras: list[CameraConfig] = Field(min_length=1)
    rules: list[RuleConfig] = Field(min_length=1)

    @field_validator("timezone")
    @classmethod
    def timezone_exists(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {name!r}") from exc
        return name

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

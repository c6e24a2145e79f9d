"""The site YAML schema (a public contract: extend it, keep these names).

Field-level checks live here as validators; checks that span fields or files live in
`configs.checks`, so that `configs.load.load_site` can report all of them in one go.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    Field,
    ModelWrapValidatorHandler,
    SecretStr,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails, InitErrorDetails
from shapely.geometry import Polygon
from shapely.validation import explain_validity
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from common.schedule import ShiftSyntaxError, parse_shift
from configs.strict import Strict
from configs.taxonomy import Code, KindOverride, ObjectFilterSpec, ObjectKind, RuleOverrides
from detector.backends.providers import SITE_NAMES, ProviderUnavailable, available_providers, chosen_providers
from routing.broker.connection import connection_parameters
from routing.incidents.verification import VerificationPolicy
from streams.decode import is_rtsp
from streams.decoder_choice import DecodeDevice, nvdec_missing
from streams.frame import DecodePolicy

Identifier = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")]
# What people read (张伟, 汇丰购物广场东门): blank or whitespace-only would make alerts unreadable.
DisplayName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


def not_reserved_by_rabbitmq(prefix: str) -> str:
    # Queues and exchanges are named "<prefix>.<...>"; RabbitMQ refuses to declare any "amq." name.
    if f"{prefix}.".startswith("amq."):
        raise ValueError("RabbitMQ reserves names starting with 'amq.' for itself; choose another prefix")
    return prefix


QueuePrefix = Annotated[Identifier, AfterValidator(not_reserved_by_rabbitmq)]

def lon_lat_in_range(value: tuple[float, float]) -> tuple[float, float]:
    if not (-180 <= value[0] <= 180 and -90 <= value[1] <= 90):
        raise ValueError("location must be [lon, lat] in degrees")
    return value


LonLat = Annotated[tuple[float, float], AfterValidator(lon_lat_in_range)]


def shifts_parse(windows: list[str]) -> list[str]:
    """Weekly windows ("Mon-Fri 08:00-20:00") that parse; raises with every bad one named."""
    bad = []
    for text in windows:
        try:
            parse_shift(text)
        except ShiftSyntaxError as exc:
            bad.append(f"{text!r}: {exc}")
    if bad:
        raise ValueError("bad shift syntax: " + "; ".join(bad))
    return windows


Windows = Annotated[list[str], AfterValidator(shifts_parse)]


class ZoneConfig(Strict):
    """A polygon in the camera picture, in fractions (0..1) of its width and height."""

    name: Identifier
    grid: Identifier | None = Field(None, description="grid id in the GeoJSON; default: camera location")
    tags: list[Identifier] = Field(default_factory=list, description="rules apply to zones by tag")
    polygon: list[tuple[float, float]]
    allow: dict[Code, Windows] = Field(default_factory=dict, description="kind -> weekly windows in which "
                                       "it is allowed here, e.g. street_vending: [\"Mon-Sun 18:00-22:00\"]")

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
    name: DisplayName
    url: SecretStr = Field(description="rtsp://user:pass@host/stream, or a video file path")
    detect_url: SecretStr | None = Field(None, description="the camera's smaller stream for the detector, e.g. "
                                         "rtsp://user:pass@host/Streaming/Channels/102: decoded instead of `url`, "
                                         "whose pictures the evidence still shows; the same kind as `url` (both "
                                         "RTSP, or both video files)")
    detect_fps: float = Field(1.0, gt=0, le=60)
    decode: DecodePolicy = DecodePolicy.KEYFRAMES
    decode_device: DecodeDevice = Field(DecodeDevice.CPU, description="cpu: ffmpeg decodes; cuda: the GPU's NVDEC "
                                        "(needs PyNvVideoCodec and an NVIDIA GPU)")
    loop: bool = Field(False, description="files only: start again at the end, like a camera")
    location: LonLat | None = Field(None, description="lon, lat of the camera")
    open_timeout_s: float = Field(10.0, gt=0, le=120)
    read_timeout_s: float = Field(10.0, gt=0, le=120, description="no usable picture this long = stalled, "
                                  "reconnect; must exceed the keyframe interval")
    offline_after_s: float = Field(15.0, gt=0, le=600, description="no usable picture this long = offline, "
                                   "whatever the reader waits on; a dropped connection is offline at once")
    reconnect_max_s: float = Field(15.0, ge=1, le=600, description="cap of the reconnect backoff")
    zones: list[ZoneConfig] = Field(min_length=1)

    @field_validator("decode_device")
    @classmethod
    def decoder_can_run_here(cls, device: DecodeDevice) -> DecodeDevice:
        if device is DecodeDevice.CUDA and (missing := nvdec_missing()) is not None:
            raise ValueError(f"cuda: {missing}; or decode_device: cpu")
        return device

    @field_validator("detect_url")
    @classmethod
    def detect_url_like_url(cls, detect_url: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        url = info.data.get("url")  # absent when the url itself is invalid
        if detect_url is None or url is None:
            return detect_url
        stream, detect_stream = "://" in url.get_secret_value(), "://" in detect_url.get_secret_value()
        if detect_stream and not is_rtsp(detect_url.get_secret_value()):
            raise ValueError("a sub-stream is read over RTSP: rtsp://user:pass@host/...")
        if stream != detect_stream:
            raise ValueError("must be of the same kind as url: an RTSP stream for a camera, a video file for a file "
                             f"(url is {'a stream' if stream else 'a file'})")
        return detect_url

    @field_validator("loop")
    @classmethod
    def loop_only_for_files(cls, loop: bool, info: ValidationInfo) -> bool:
        url = info.data.get("url")  # absent when the url itself is invalid
        if loop and url is not None and "://" in url.get_secret_value():
            raise ValueError("loop applies to video files only; a stream URL is live already")
        return loop


class WorkerConfig(Strict):
    id: Identifier
    name: DisplayName
    grids: list[Identifier] = Field(min_length=1)
    shifts: Windows = Field(min_length=1, description='e.g. "Mon-Sun 08:00-20:00", "Sat 22:00-06:00"')
    broker_password: SecretStr | None = Field(
        None, min_length=8, description="password of the worker's RabbitMQ user, e.g. ${W001_AMQP_PASSWORD}; "
        "absent: `aibrain broker provision --credentials-out` generates one")


class BrokerTlsConfig(Strict):
    """Files for an amqps:// broker; relative paths are taken from the site file's folder
    (`configs.checks.check_broker_tls` checks they load and that the broker URL is amqps://)."""

    ca_file: Path | None = Field(None, description="CA bundle (PEM) that signed the broker's certificate; "
                                 "absent: the system's trusted CAs")
    cert_file: Path | None = Field(None, description="client certificate (PEM), for brokers that ask for one")
    key_file: Path | None = Field(None, description="the client certificate's key (PEM); absent: in cert_file")


class RuleConfig(Strict):
    """Where a kind of the taxonomy is watched for (`zone_tags`), and any of its rule's parameters
    or time limits changed for this site (see configs/taxonomy.yaml)."""

    kind: Code
    zone_tags: list[Identifier] = Field(min_length=1)
    accept_within_min: float | None = Field(None, gt=0, le=7 * 1440, description="default: the kind's")
    resolve_within_min: float | None = Field(None, gt=0, le=365 * 1440, description="default: the kind's")
    parameters: RuleOverrides = Field(default_factory=dict, description="the rule's type and parameters that "
                                      "this site changes; in YAML they sit beside `kind`, not under this key")

    @classmethod
    def split(cls, rule: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """A YAML rule's own fields, and the rule parameters written beside them."""
        own = {key: value for key, value in rule.items() if key in cls.model_fields and key != "parameters"}
        return own, {key: value for key, value in rule.items() if key not in own}

    @model_validator(mode="wrap")
    @classmethod
    def parameters_beside_the_kind(cls, data: Any, handler: ModelWrapValidatorHandler[RuleConfig]) -> RuleConfig:
        if not isinstance(data, dict):
            return handler(data)
        own, parameters = cls.split(data)
        try:
            return handler({**own, "parameters": parameters})
        except ValidationError as exc:  # a parameter's problem is named as in the YAML: rules[0].dwell_s
            raise ValidationError.from_exception_data(exc.title, [beside_the_kind(error) for error in exc.errors()]) \
                from None


def beside_the_kind(error: ErrorDetails) -> InitErrorDetails:
    """A rule's error with a parameter's location as the YAML has it (without `parameters`)."""
    loc = error["loc"][1:] if error["loc"][:1] == ("parameters",) and len(error["loc"]) > 1 else error["loc"]
    details = InitErrorDetails(type=error["type"], loc=loc, input=error["input"])
    if "ctx" in error:
        details["ctx"] = error["ctx"]
    return details


class DetectorConfig(Strict):
    confidence: float = Field(0.25, gt=0, lt=1)
    iou: float = Field(0.45, gt=0, lt=1)
    max_batch: int = Field(8, ge=1, le=256)
    max_wait_ms: float = Field(20.0, ge=0, le=1000)
    max_frame_gap_s: float = Field(10.0, gt=0, le=86400, description="longer gaps between frames = camera offline")
    providers: list[Literal["tensorrt", "cuda", "cpu"]] | None = Field(
        None, min_length=1, description="ONNX execution providers, best first, e.g. [tensorrt, cuda, cpu]; absent: "
        "the fastest this onnxruntime build has (CUDA and TensorRT need onnxruntime-gpu)")
    device_id: int = Field(0, ge=0, le=63, description="the GPU (nvidia-smi's number) CUDA and TensorRT run on")
    trt_cache_dir: Path = Field(Path("var/trt-engines"), description="TensorRT engines kept here (relative to the "
                                "site file), so a restart does not spend minutes building them again")
    trt_fp16: bool = Field(True, description="TensorRT may run layers in fp16 (faster; scores shift slightly)")
    trt_workspace_mb: int = Field(2048, ge=64, le=262144, description="GPU memory TensorRT may use to build an engine")
    sessions: int | None = Field(None, ge=1, le=64, description="model sessions inferring side by side in `aibrain "
                                 "run`, each on a thread of its own with the cores shared out among them; absent: one "
                                 "per core when the model runs on the CPU (ONNX), else 1")

    @field_validator("providers")
    @classmethod
    def providers_in_this_build(cls, names: list[str] | None) -> list[str] | None:
        if names is None:
            return None
        if len(set(names)) < len(names):
            raise ValueError(f"a provider is named twice in {names}")
        try:
            chosen_providers([SITE_NAMES[name] for name in names], available_providers())
        except ProviderUnavailable as exc:
            raise ValueError(str(exc)) from None
        return names

    @property
    def provider_names(self) -> tuple[str, ...] | None:
        """The providers as onnxruntime names them; None: the fastest there are."""
        return None if self.providers is None else tuple(SITE_NAMES[name] for name in self.providers)


class EscalationConfig(Strict):
    """Who is told, in order, when an alert is not accepted or resolved in time (grid leader,
    community, street centre...): each target gets the queue `<prefix>.escalation.<target>`."""

    default: list[Identifier] = Field(default_factory=list, description="chain for grids not listed")
    grids: dict[Identifier, list[Identifier]] = Field(default_factory=dict, description="grid id -> chain")
    check_every_s: float = Field(5.0, gt=0, le=3600, description="how often due times are checked")


class VerificationConfig(Strict, VerificationPolicy):
    """How the camera looks again after a worker resolves an incident (核查): routing's
    `VerificationPolicy` (its fields, bounds and defaults) read strictly from the site file."""


class WebConfig(Strict):
    """The command centre's workbench, served by `aibrain run` when the site has this section
    (`configs.checks.check_web_port` keeps its port apart from the metrics')."""

    host: str = Field("127.0.0.1", min_length=1, description="address the workbench listens on")
    port: int = Field(8080, ge=1, le=65535)
    session_idle_min: float = Field(30.0, gt=0, le=7 * 1440, description="a login unused this long ends")
    session_max_h: float = Field(12.0, gt=0, le=90 * 24, description="a login ends this long after it began, "
                                 "used or not; must exceed session_idle_min")
    secure_cookies: bool = Field(False, description="true when served behind https: cookies sent over https only")

    @model_validator(mode="after")
    def session_outlives_idle(self) -> WebConfig:
        if self.session_max_h * 60 <= self.session_idle_min:
            raise ValueError(f"session_max_h ({self.session_max_h:g} h) must exceed session_idle_min "
                             f"({self.session_idle_min:g} min): a login would end before it could idle out")
        return self


class SiteConfig(Strict):
    timezone: str = "Asia/Shanghai"
    district: DisplayName = Field("全区", description="the district's name: the top of 区 → 街道 → 社区 → 网格")
    database: SecretStr = SecretStr("sqlite:///var/aibrain.db")
    broker: SecretStr | None = Field(None, description="amqp(s) URL; absent = incidents kept in the outbox")
    broker_tls: BrokerTlsConfig | None = Field(None, description="CA and client certificate for an amqps:// broker")
    queue_prefix: QueuePrefix = "aibrain"
    fallback_queue: Identifier = Field("unassigned", description="queue suffix for grids with nobody on duty")
    evidence_dir: Path = Path("var/evidence")
    evidence_frames: bool = Field(True, description="keep each snapshot's frame clean beside it with all its "
                                  "detections (<stem>.frame.jpg, <stem>.dets.json): training data, ~0.2-0.4 MB each")
    model: str = Field("yolov8n", description="model card name under models/, or a path to .onnx/.pt")
    model_card: str = Field("yolov8n", description="card giving object kinds when `model` is a path")
    model_dirs: list[Path] = Field(default_factory=list, description="where card weights are looked for")
    grids: Path
    detector: DetectorConfig = Field(default_factory=DetectorConfig)
    workers: list[WorkerConfig] = Field(min_length=1)
    cameras: list[CameraConfig] = Field(min_length=1)
    rules: list[RuleConfig] = Field(min_length=1)
    taxonomy: Path | None = Field(None, description="a taxonomy file replacing configs/taxonomy.yaml")
    kinds: dict[Code, KindOverride] = Field(default_factory=dict, description="kinds added or changed")
    object_filters: dict[ObjectKind, ObjectFilterSpec] = Field(
        default_factory=dict, description="per object kind: min_confidence, min_area (fraction of the frame)")
    escalation: EscalationConfig = Field(default_factory=EscalationConfig)
    verification: VerificationConfig = Field(default_factory=VerificationConfig)
    metrics_port: int | None = Field(None, ge=1, le=65535, description="Prometheus metrics on this port")
    metrics_host: str = Field("127.0.0.1", min_length=1, description="address the metrics endpoint listens on")
    web: WebConfig | None = Field(None, description="the workbench; absent: `aibrain run` serves none")

    @field_validator("timezone")
    @classmethod
    def timezone_exists(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, OSError) as exc:  # OSError: "Asia" is a folder of zones
            raise ValueError(f"unknown timezone {name!r}") from exc
        return name

    # Parse errors are not quoted: they may hold a part of the URL's password.
    @field_validator("database")
    @classmethod
    def database_is_supported(cls, url: SecretStr) -> SecretStr:
        try:
            parsed = make_url(url.get_secret_value())
        except (ArgumentError, ValueError):
            raise ValueError("not a database URL; use sqlite:///path or postgresql+psycopg://user@host/db") from None
        backend = parsed.get_backend_name()
        if parsed.host and "@" in parsed.host:  # SQLAlchemy ends the password at its first @
            raise ValueError("the host name holds an @: write an @ in the password as %40")
        if backend not in ("sqlite", "postgresql"):
            raise ValueError(f"unsupported database {backend!r}; use sqlite:///path or postgresql+psycopg://...")
        return url

    @field_validator("broker")
    @classmethod
    def broker_is_amqp(cls, url: SecretStr | None) -> SecretStr | None:
        if url is None:
            return None
        text = url.get_secret_value()
        if not text.lower().startswith(("amqp://", "amqps://")):
            raise ValueError("the broker URL must start with amqp:// or amqps://")
        try:
            connection_parameters(text)
        except (ValueError, TypeError):  # pika's checks of the port, vhost and ?options
            raise ValueError("not a valid AMQP URL: amqp[s]://user:password@host:port/vhost?options, with "
                             "options pika knows (heartbeat=30, ...)") from None
        return url

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

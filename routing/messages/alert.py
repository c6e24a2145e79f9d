"""The alert contract: the JSON message a grid worker's queue (and the command centre) receives.

Consumers outside this codebase read it, so its shape changes only with `schema_version`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_serializer

SCHEMA_VERSION: Literal[1] = 1
# A kind of the taxonomy (configs/taxonomy.yaml), e.g. "non_motor_parking".
KindCode = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_]*$")]


class FrozenMessage(BaseModel):
    """Base of every message body: immutable, strict, times written with their UTC offset."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    @field_serializer("*", when_used="json", check_fields=False)
    def _iso_with_offset(self, value: object) -> object:
        # pydantic writes UTC as "Z"; "+08:00"-style offsets read the same in every consumer.
        return value.isoformat() if isinstance(value, datetime) else value

    def to_json(self) -> str:
        """Compact JSON text; Chinese stays readable (no \\u escapes). Encode as UTF-8 to send."""
        return self.model_dump_json()


class Location(FrozenMessage):
    """WGS 84 position of the camera that saw the violation."""

    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)


class DueBy(FrozenMessage):
    """Deadlines: accept the alert by `accept`, resolve the problem by `resolve`."""

    accept: AwareDatetime
    resolve: AwareDatetime


class AlertMessage(FrozenMessage):
    """One dispatched violation, as published to the broker.

    `dispatch_id` is the AMQP message id (one per publish decision; consumers de-duplicate on
    it); `incident_id` stays the same when an incident is dispatched again. `worker_id` is None
    on the fallback queue (nobody on duty), `grid_id` None when no grid could be found for the
    camera and zone. Times carry their UTC offset; read one back with
    `AlertMessage.model_validate_json(body)`.
    """

    schema_version: Literal[1] = SCHEMA_VERSION
    dispatch_id: str
    incident_id: str
    kind: KindCode
    kind_label_zh: str
    grid_id: str | None
    grid_name: str | None
    worker_id: str | None
    worker_name: str | None
    camera_id: str
    camera_name: str
    zone: str
    location: Location | None
    first_seen: AwareDatetime
    confirmed_at: AwareDatetime
    confidence: float = Field(ge=0, le=1)
    bbox: tuple[float, float, float, float]
    frame_size: tuple[int, int]
    snapshot: str | None
    object_kind: str
    class_name: str
    track_id: int
    due_by: DueBy

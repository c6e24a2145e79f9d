"""The feedback contract: what a grid worker sends back (accept, resolve with a note), and the
checks a message must pass before it may move an incident."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Literal

import pika
from pydantic import AfterValidator, AwareDatetime, Field, ValidationError

from routing.broker.topology import ID_PATTERN, Topology
from routing.incidents.tables import IncidentAction
from routing.messages.alert import SCHEMA_VERSION, FrozenMessage

_MESSAGE_ID = re.compile(ID_PATTERN)  # stored as the de-duplication key, a VARCHAR(64)
# C0 and C1 controls but tab and line breaks: PostgreSQL refuses NUL in text, and escapes rewrite terminals.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _no_control_characters(text: str) -> str:
    found = _CONTROL.search(text)
    if found:
        raise ValueError(f"holds control character U+{ord(found.group()):04X}")
    return text


Note = Annotated[str, Field(max_length=2000), AfterValidator(_no_control_characters)]


class FeedbackAction(StrEnum):
    ACCEPT = "accept"
    RESOLVE = "resolve"

    @property
    def incident_action(self) -> IncidentAction:
        return IncidentAction(self.value)


class Feedback(FrozenMessage):
    """A worker's action on one incident; published to `<prefix>.feedback` with routing key
    `worker.<id>`, a fresh `message_id` and `user_id` = the worker's RabbitMQ user."""

    schema_version: Literal[1] = SCHEMA_VERSION
    incident_id: str = Field(max_length=36, pattern=ID_PATTERN)
    worker_id: str = Field(pattern=ID_PATTERN)
    action: FeedbackAction
    note: Note | None = None
    at: AwareDatetime = Field(description="when the worker acted, by their device's clock")


class FeedbackRejected(ValueError):
    """A feedback message that must not move any incident; the reason goes with it to the
    dead-letter exchange, and `kind` (a short category) to the metrics."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind


def problems(exc: ValidationError) -> str:
    """What is wrong with a feedback message, field by field on one line (the first five)."""
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors()[:5])


def parse_feedback(properties: pika.BasicProperties, body: bytes, topology: Topology,
                   trusted_users: frozenset[str]) -> Feedback:
    """Validate a delivered feedback message and its sender; raises FeedbackRejected.

    RabbitMQ refuses a `user_id` other than the connection's own user, so a worker cannot send
    as another; here the sender must be the worker named in the body, or a trusted user (the
    pipeline's own, acting for the command centre).
    """
    if not properties.message_id:
        raise FeedbackRejected("no_message_id", "no message_id: feedback cannot be de-duplicated")
    if not _MESSAGE_ID.fullmatch(properties.message_id):
        raise FeedbackRejected("bad_message_id", f"message_id of {len(properties.message_id)} characters is not "
                                                 "1-64 letters, digits and _ . : -")
    try:
        feedback = Feedback.model_validate_json(body)
    except ValidationError as exc:
        raise FeedbackRejected("invalid", f"not a valid feedback message: {problems(exc)}") from None
    sender = properties.user_id
    if sender not in trusted_users and sender != topology.worker_user(feedback.worker_id):
        raise FeedbackRejected("unauthorised",
                               f"sender {sender or '(no user_id)'} may not act for worker {feedback.worker_id}")
    return feedback

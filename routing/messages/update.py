"""The incident update contract: what a worker's queue, an escalation queue and the command centre
receive when an incident changes (AMQP `type` = `incident_update`; alerts are `alert`)."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime

from routing.incidents.tables import IncidentAction, IncidentStatus
from routing.messages.alert import SCHEMA_VERSION, DueBy, FrozenMessage, KindCode


class IncidentUpdate(FrozenMessage):
    """One step of an incident's closed loop, announced.

    `escalated_to` names the escalation target this copy is addressed to (an escalation, or the
    next level told of a reopened incident); None for the copy sent to the incident's worker.
    `due_by` holds the deadlines now in force while someone still owes an action.
    """

    schema_version: Literal[1] = SCHEMA_VERSION
    update_id: str
    incident_id: str
    action: IncidentAction
    from_status: IncidentStatus | None
    status: IncidentStatus
    actor: str
    at: AwareDatetime
    note: str | None
    kind: KindCode
    kind_label_zh: str
    grid_id: str | None
    worker_id: str | None
    camera_id: str
    camera_name: str
    zone: str
    snapshot: str | None
    escalation_level: int
    escalated_to: str | None
    due_by: DueBy | None

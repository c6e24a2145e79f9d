"""A leader's decision on a worker's request for more time (延期申请), from the incident's page: approve
(the deadline moves by the minutes asked, or by the approver's own figure) or refuse (a reason is
required). Each goes through routing's ExtensionRequests in one transaction with the person's audit
row, as the centre's other actions do (incidents.act): the worker's queue gets the update, and the
page comes back with what was done, or with why it was refused."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi import Path as PathParameter
from fastapi.responses import Response
from sqlalchemy.orm import Session

from aibrain.web.incidents import APPROVE_EXTENSION, REFUSE_EXTENSION, IncidentId, Text, act, typed_minutes
from aibrain.web.signed_in import Actor
from aibrain.web.workbench import Workbench, workbench
from routing.incidents.tables import Incident

router = APIRouter()
Bench = Annotated[Workbench, Depends(workbench)]
RequestId = Annotated[int, PathParameter(ge=1, le=2**63 - 1)]  # a BIGINT: larger ones would fail in PostgreSQL


@router.post("/incidents/{incident_id}/extension/{request_id}/approve", include_in_schema=False)
def approve(request: Request, incident_id: IncidentId, request_id: RequestId, user: Actor, bench: Bench,
            minutes: Annotated[str, Form(max_length=32)] = "", note: Text = "") -> Response:
    """Blank minutes grant what the worker asked for."""
    def apply(session: Session, incident: Incident, at: datetime) -> str:
        granted = typed_minutes(minutes) if minutes.strip() else None
        decided = bench.extension_requests.approve(session, incident, request_id, user.actor, at, granted, note)
        by = decided.minutes if granted is None else granted
        said = f": {decided.decision_note}" if decided.decision_note else ""
        return f"request {request_id} of {decided.worker_id}, {by:g} min{said}"

    return act(request, bench, user, incident_id, APPROVE_EXTENSION, apply)


@router.post("/incidents/{incident_id}/extension/{request_id}/refuse", include_in_schema=False)
def refuse(request: Request, incident_id: IncidentId, request_id: RequestId, user: Actor, bench: Bench,
           note: Text = "") -> Response:
    def apply(session: Session, incident: Incident, at: datetime) -> str:
        decided = bench.extension_requests.refuse(session, incident, request_id, user.actor, at, note)
        return f"request {request_id} of {decided.worker_id}: {decided.decision_note}"

    return act(request, bench, user, incident_id, REFUSE_EXTENSION, apply)

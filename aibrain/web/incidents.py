"""The incident pages: the list (filtered, sorted, paged, live) and one incident's detail — its workers'
photos and requests for more time included — and the centre's actions on it (reassign, extend, false
alarm, escalate), each one transaction through routing's Interventions (state, audit row, outbox),
audited as the person's web action too (`act`, which extension_decisions.py uses as well)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi import Path as PathParameter
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from aibrain import assemble
from aibrain.web.grid_sketch import GridSketch, grid_sketch
from aibrain.web.incident_query import (
    PAGE_SIZE,
    FilterProblem,
    IncidentFilter,
    SortKey,
    extensions_awaiting,
    list_incidents,
)
from aibrain.web.incident_view import (
    ACTION_LABELS,
    REQUEST_STATUS_LABELS,
    STATUS_LABELS,
    SiteNames,
    allowed_actions,
)
from aibrain.web.login import client_address
from aibrain.web.scope import in_scope
from aibrain.web.signed_in import Actor, Reader, SignedIn, WorkerActor
from aibrain.web.workbench import Workbench, workbench
from routing.access import audit
from routing.access.roles import Role
from routing.assign.grids import GeoPoint
from routing.incidents.extension_requests import pending_request
from routing.incidents.false_alarms import FALSE_ALARM_LABELS, FalseAlarmReason
from routing.incidents.field_tables import ExtensionRequest, IncidentPhoto
from routing.incidents.interventions import InterventionRefused
from routing.incidents.lifecycle import TransitionRefused, already_done
from routing.incidents.tables import Incident, IncidentAction, IncidentEvent, IncidentStatus

router = APIRouter()
Bench = Annotated[Workbench, Depends(workbench)]
IncidentId = Annotated[str, PathParameter(max_length=64)]
Text = Annotated[str, Form(max_length=4000)]

# A leader's decision on a worker's request for more time, as `act` names it (audit `incident_<name>`,
# `?done=<name>`); a refusal is the incident's REFUSE_EXTENSION step, an approval its EXTEND step.
APPROVE_EXTENSION = "approve_extension"
REFUSE_EXTENSION = IncidentAction.REFUSE_EXTENSION.value
EXTENSION_DECISIONS = (APPROVE_EXTENSION, REFUSE_EXTENSION)

# What the detail page says after an action went through (`?done=<action>`); anything else says nothing.
DONE: dict[str, str] = {
    IncidentAction.REASSIGN: "已改派 Reassigned: the new worker has the alert, the previous one was told.",
    IncidentAction.EXTEND: "已延期 Deadline extended.",
    IncidentAction.FALSE_ALARM: "已按误报结案 Closed as a false alarm.",
    IncidentAction.ESCALATE: "已升级 Escalated to the next level.",
    IncidentAction.ACCEPT: "已接单 Accepted.",
    IncidentAction.RESOLVE: "已处置 Resolved: the camera will look again to verify.",
    APPROVE_EXTENSION: "已批准延期 Extension approved: the deadline moved and the worker was told.",
    REFUSE_EXTENSION: "已驳回延期 Extension refused: the worker was told.",
}
LISTED_STATUSES = [status for status in IncidentStatus if status is not IncidentStatus.DETECTED]
LIVE_SORTS = (SortKey.CONFIRMED, SortKey.CREATED)


@dataclass(frozen=True)
class WorkerChoice:
    id: str
    name: str
    on_duty: bool  # on shift in the incident's grid now


@router.get("/incidents", include_in_schema=False)
def incident_list(request: Request, user: Reader, bench: Bench) -> Response:
    names = SiteNames.of(bench.site)
    params: dict[str, list[str]] = {}
    for name, value in request.query_params.multi_items():
        params.setdefault(name, []).append(value)
    try:
        chosen = IncidentFilter.from_params(params, names.tz)
        problem = None
    except FilterProblem as exc:
        chosen, problem = IncidentFilter(), str(exc)
    with bench.sessions() as session:
        page = list_incidents(session, in_scope(user), chosen)
        # The requests waiting for this user's decision (待审批延期); workers decide none.
        awaiting = extensions_awaiting(session, in_scope(user)) if user.acts_on_incidents else None
    live = {"tz": bench.site.config.timezone, "statuses": [status.value for status in chosen.statuses],
            "kind": chosen.kind, "grid": chosen.grid_id, "worker": chosen.worker_id, "camera": chosen.camera_id,
            "q": chosen.id_prefix, "extension_pending": chosen.extension_pending,
            "prepend": page.page == 1 and chosen.sort in LIVE_SORTS and chosen.descending and chosen.until is None,
            "status_labels": {status.value: label for status, label in STATUS_LABELS.items()},
            "workers": names.workers, "grids": names.grids}
    return bench.page(request, "incidents.html.j2", {
        "user": user, "active": "/incidents", "page": page, "chosen": chosen, "problem": problem, "names": names,
        "status_labels": STATUS_LABELS, "statuses": LISTED_STATUSES, "page_size": PAGE_SIZE, "live": live,
        "awaiting": awaiting,
        **filter_choices(bench, user, names)}, status_code=400 if problem else 200)


def filter_choices(bench: Workbench, user: SignedIn, names: SiteNames) -> dict[str, Any]:
    """What the filter selects offer: the site's kinds, and the grids, workers and cameras in scope."""
    config = bench.site.config
    in_reach = user.grid_ids
    return {
        "kinds": sorted({(rule.kind, names.kinds.get(rule.kind, rule.kind)) for rule in config.rules}),
        "grids": [(grid_id, names.grid(grid_id)) for grid_id in bench.site.grids if grid_id in in_reach],
        "workers": [] if not user.acts_on_incidents else
        [(worker.id, names.worker(worker.id)) for worker in config.workers if in_reach & set(worker.grids)],
        "cameras": [(camera.id, camera.name) for camera in config.cameras
                    if user.ungridded or any(zone.grid in in_reach for zone in camera.zones)],
    }


@router.get("/incidents/{incident_id}", include_in_schema=False)
def incident_detail(request: Request, incident_id: IncidentId, user: Reader, bench: Bench,
                    done: str | None = None) -> Response:
    return detail_page(request, bench, user, incident_id, done=DONE.get(done or ""))


def detail_page(request: Request, bench: Workbench, user: SignedIn, incident_id: str, done: str | None = None,
                error: str | None = None, failed: str | None = None, status_code: int = 200) -> Response:
    """The detail page; after a refused action (named as `act` names it), with its error shown next to
    that action's form, or above everything when the page no longer has that form."""
    site = bench.site
    with bench.sessions() as session:
        incident = session.get(Incident, incident_id)
        if incident is None or not user.sees(incident.grid_id, incident.worker_id):
            raise HTTPException(404, "no such incident in your scope")
        timeline = session.scalars(select(IncidentEvent).where(IncidentEvent.incident_id == incident_id)
                                   .order_by(IncidentEvent.at, IncidentEvent.id)).all()
        photos = session.scalars(select(IncidentPhoto).where(IncidentPhoto.incident_id == incident_id)
                                 .order_by(IncidentPhoto.at, IncidentPhoto.id)).all()
        requests = session.scalars(select(ExtensionRequest).where(ExtensionRequest.incident_id == incident_id)
                                   .order_by(ExtensionRequest.at.desc(), ExtensionRequest.id.desc())).all()
        waiting = pending_request(session, incident_id)  # a pending one may have lapsed: only this one is decided
        session.expunge_all()
    camera = next((camera for camera in site.config.cameras if camera.id == incident.camera_id), None)
    location = GeoPoint(*camera.location) if camera is not None and camera.location else None
    grid = site.grids.get(incident.grid_id) if incident.grid_id else None
    sketch: GridSketch | None = grid_sketch(grid.geometry, location) if grid is not None else None
    acts = user.acts_on_incidents
    own = user.role is Role.WORKER and incident.worker_id == user.worker_id
    actions = allowed_actions(incident) if acts else allowed_actions(incident, worker=True) if own else frozenset()
    shown = {action.value for action in actions}
    forms = shown | set(EXTENSION_DECISIONS) if acts and waiting else shown  # where a refused action's error goes
    return bench.page(request, "incident.html.j2", {
        "user": user, "active": "/incidents", "incident": incident, "timeline": timeline,
        "names": SiteNames.of(site), "status_labels": STATUS_LABELS, "action_labels": ACTION_LABELS,
        "sketch": sketch, "done": done, "error": error, "failed": failed,
        "photos": photos, "requests": requests, "waiting_id": waiting.id if waiting else None,
        "request_labels": REQUEST_STATUS_LABELS,
        "actions": shown, "forms": forms, "false_alarm_reasons": FALSE_ALARM_LABELS,
        "choices": worker_choices(bench, incident, bench.clock()) if acts else []}, status_code=status_code)


def worker_choices(bench: Workbench, incident: Incident, now: datetime) -> list[WorkerChoice]:
    """Every other worker of the site, those on shift in the incident's grid now first (在岗)."""
    roster = assemble.roster(bench.site)
    local = now.astimezone(roster.tz)
    choices = [WorkerChoice(worker.id, worker.name, incident.grid_id in worker.grids and worker.on_shift(local))
               for worker in roster.workers if worker.id != incident.worker_id]
    return sorted(choices, key=lambda choice: not choice.on_duty)


@router.post("/incidents/{incident_id}/reassign", include_in_schema=False)
def reassign(request: Request, incident_id: IncidentId, user: Actor, bench: Bench,
             worker_id: Annotated[str, Form(max_length=64)] = "", note: Text = "") -> Response:
    def apply(session: Session, incident: Incident, at: datetime) -> str:
        bench.interventions.reassign(session, incident, worker_id, user.actor, at, note)
        return f"to {worker_id}" + (f": {note.strip()}" if note.strip() else "")

    return act(request, bench, user, incident_id, IncidentAction.REASSIGN, apply)


@router.post("/incidents/{incident_id}/extend", include_in_schema=False)
def extend(request: Request, incident_id: IncidentId, user: Actor, bench: Bench,
           minutes: Annotated[str, Form(max_length=32)] = "", reason: Text = "") -> Response:
    def apply(session: Session, incident: Incident, at: datetime) -> str:
        by = typed_minutes(minutes)
        bench.interventions.extend(session, incident, by, reason, user.actor, at)
        return f"{by:g} min: {reason.strip()}"

    return act(request, bench, user, incident_id, IncidentAction.EXTEND, apply)


def typed_minutes(minutes: str) -> float:
    """A form's minutes as a number (routing checks the range); refused when it is not one."""
    try:
        return float(minutes)
    except ValueError:
        raise InterventionRefused(f"minutes must be a number, not {minutes!r}") from None


@router.post("/incidents/{incident_id}/false-alarm", include_in_schema=False)
def false_alarm(request: Request, incident_id: IncidentId, user: Actor, bench: Bench, reason: Text = "",
                code: Annotated[str, Form(max_length=32)] = FalseAlarmReason.OTHER.value) -> Response:
    """`code`: the reason select's FalseAlarmReason (a form without it: other, whose words `reason` are required)."""
    def apply(session: Session, incident: Incident, at: datetime) -> str:
        bench.interventions.false_alarm(session, incident, reason, user.actor, at, code)
        return f"{code}: {reason.strip()}" if reason.strip() else code

    return act(request, bench, user, incident_id, IncidentAction.FALSE_ALARM, apply)


@router.post("/incidents/{incident_id}/escalate", include_in_schema=False)
def escalate(request: Request, incident_id: IncidentId, user: Actor, bench: Bench, reason: Text = "") -> Response:
    def apply(session: Session, incident: Incident, at: datetime) -> str:
        target = bench.interventions.escalate(session, incident, reason, user.actor, at)
        if target is None:
            raise InterventionRefused("the grid's escalation chain is spent: there is nobody further to tell")
        return f"to {target}: {reason.strip()}"

    return act(request, bench, user, incident_id, IncidentAction.ESCALATE, apply)


@router.post("/incidents/{incident_id}/accept", include_in_schema=False)
def accept(request: Request, incident_id: IncidentId, user: WorkerActor, bench: Bench) -> Response:
    return worker_step(request, bench, user, incident_id, IncidentAction.ACCEPT, None)


@router.post("/incidents/{incident_id}/resolve", include_in_schema=False)
def resolve(request: Request, incident_id: IncidentId, user: WorkerActor, bench: Bench, note: Text = "") -> Response:
    return worker_step(request, bench, user, incident_id, IncidentAction.RESOLVE, note.strip() or None)


def worker_step(request: Request, bench: Workbench, user: SignedIn, incident_id: str, action: IncidentAction,
                note: str | None) -> Response:
    """The worker's own accept or resolve, as their feedback message would make it (a repeat changes nothing)."""
    def apply(session: Session, incident: Incident, at: datetime) -> str:
        if not already_done(incident.status, action):
            bench.loop.act(session, incident, action, user.actor, at, note)
        return note or ""

    return act(request, bench, user, incident_id, action, apply)


def act(request: Request, bench: Workbench, user: SignedIn, incident_id: str, action: str,
        apply: Callable[[Session, Incident, datetime], str]) -> Response:
    """Run `apply` on the incident, locked, in one transaction with the audit row; 404 outside the user's
    scope; a refusal re-renders the detail with its reason (409: the status forbids it; 422: the request).
    `action` names the step for the audit row (`incident_<action>`), the page's `?done=` and its forms:
    an IncidentAction's value, or a web action of its own (APPROVE_EXTENSION)."""
    at = bench.clock()
    try:
        with bench.sessions() as session, session.begin():
            incident = session.get(Incident, incident_id, with_for_update=True)
            if incident is None or not user.sees(incident.grid_id, incident.worker_id):
                raise HTTPException(404, "no such incident in your scope")
            detail = apply(session, incident, at)
            audit.record(session, at, user.username, f"incident_{action}", f"incident:{incident_id}", detail,
                         address=client_address(request))
    except TransitionRefused as refused:
        return detail_page(request, bench, user, incident_id, error=str(refused), failed=action, status_code=409)
    except InterventionRefused as refused:
        return detail_page(request, bench, user, incident_id, error=str(refused), failed=action, status_code=422)
    if action == IncidentAction.RESOLVE:
        bench.after_resolve()
    return RedirectResponse(f"/incidents/{quote(incident_id, safe='')}?done={action}", status_code=303)

"""How an incident reads in the phone app: the inbox card's fields, deadlines and allowed actions.

The inbox is read in four queries whatever its length (incidents, their photos, their extension
requests, their latest steps): a worker may hold fifty incidents after a busy morning."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Literal, TypeVar
from urllib.parse import quote
from zoneinfo import ZoneInfo

from pydantic import BaseModel
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from aibrain.web.incident_view import ACTION_LABELS, STATUS_LABELS
from configs.load import Site
from configs.schema import CameraConfig
from routing.incidents.closed_loop import deadline_in_force
from routing.incidents.extension_requests import reassignments_since
from routing.incidents.field_tables import ExtensionRequest, IncidentPhoto, RequestStatus
from routing.incidents.lifecycle import AWAITING_VERIFICATION, CLOSED_STATUSES, OPEN_STATUSES, TRANSITIONS
from routing.incidents.tables import Incident, IncidentAction, IncidentEvent, IncidentStatus

Section = Literal["open", "checking", "closed"]
PhoneAction = Literal["accept", "resolve", "false_alarm", "extension"]
_Row = TypeVar("_Row", ExtensionRequest, IncidentEvent)
CLOSED_SHOWN_FOR = timedelta(hours=24)  # a closed incident stays in the inbox this long after it closed
# The steps that close an incident, by action (not by status after) so the events' (action, at) index serves.
CLOSING_ACTIONS = frozenset(action for (_before, action), after in TRANSITIONS.items() if after in CLOSED_STATUSES)


def chinese(label: str) -> str:
    """The 中文 half of one of the workbench's labels ("中文 English"): the phone shows only that.

    >>> chinese("已接单 accepted")
    '已接单'
    """
    return label.split(" ", 1)[0]


def status_label(status: IncidentStatus) -> str:
    return chinese(STATUS_LABELS[status])


def step_label(action: IncidentAction) -> str:
    return chinese(ACTION_LABELS.get(action, action.value))


class WorkerRef(BaseModel):
    id: str
    name: str


class PhotoLink(BaseModel):
    id: int
    url: str


class DeadlineView(BaseModel):
    which: Literal["accept", "resolve"]
    at: datetime


class ExtensionView(BaseModel):
    id: int
    status: RequestStatus
    minutes: float
    reason: str
    at: datetime
    decision_note: str | None


class LastStep(BaseModel):
    action: IncidentAction
    label: str
    at: datetime
    note: str | None


class Card(BaseModel):
    """One incident in the worker's inbox; times in the site's zone (ISO 8601 with its offset)."""

    id: str
    kind: str
    kind_label: str
    status: IncidentStatus
    status_label: str
    section: Section
    camera_id: str
    camera_name: str
    zone: str
    grid_id: str | None
    grid_name: str | None
    map_url: str | None  # geo: URI, opened by the phone's map app
    confirmed_at: datetime
    accept_by: datetime | None
    resolve_by: datetime | None
    deadline: DeadlineView | None  # the promised deadline an open incident runs against
    evidence_url: str | None
    photos: list[PhotoLink]
    extension: ExtensionView | None  # the latest request for more time
    actions: list[PhoneAction]
    last_step: LastStep | None


class Inbox(BaseModel):
    worker: WorkerRef
    now: datetime
    open_count: int
    incidents: list[Card]


def section_of(status: IncidentStatus) -> Section:
    if status in OPEN_STATUSES:
        return "open"
    return "checking" if status in AWAITING_VERIFICATION else "closed"


def phone_actions(status: IncidentStatus, extension: ExtensionRequest | None) -> list[PhoneAction]:
    """What the worker may do now. Only open incidents: once resolved the camera decides, and a worker
    does not close as a false alarm what they reported handled (the centre still can)."""
    if status not in OPEN_STATUSES:
        return []
    step: dict[PhoneAction, IncidentAction] = {"accept": IncidentAction.ACCEPT, "resolve": IncidentAction.RESOLVE,
                                               "false_alarm": IncidentAction.FALSE_ALARM,
                                               "extension": IncidentAction.REQUEST_EXTENSION}
    waiting = extension is not None and extension.status is RequestStatus.PENDING
    return [name for name, action in step.items()
            if (status, action) in TRANSITIONS and not (name == "extension" and waiting)]


def map_url(location: Sequence[float] | None, camera_name: str) -> str | None:
    """A geo: URI at the camera, labelled with its name.

    >>> map_url([121.472, 31.232], "东门")
    'geo:31.232,121.472?q=31.232,121.472(%E4%B8%9C%E9%97%A8)'
    """
    if not location:
        return None
    lon, lat = location[0], location[1]
    return f"geo:{lat},{lon}?q={lat},{lon}({quote(camera_name, safe='')})"


def worker_incidents(session: Session, worker_id: str, now: datetime) -> list[Incident]:
    """The worker's incidents: open and awaiting the camera's check, and those closed in the last 24 h;
    open first, then checking, then closed, each newest confirmed first."""
    closed_lately = (select(IncidentEvent.incident_id)
                     .where(IncidentEvent.action.in_(CLOSING_ACTIONS), IncidentEvent.at >= now - CLOSED_SHOWN_FOR))
    found = session.scalars(select(Incident).where(
        Incident.worker_id == worker_id,
        or_(Incident.status.in_(OPEN_STATUSES | AWAITING_VERIFICATION),
            Incident.status.in_(CLOSED_STATUSES) & Incident.id.in_(closed_lately)))
        .order_by(Incident.confirmed_at.desc(), Incident.id)).all()
    order: dict[Section, int] = {"open": 0, "checking": 1, "closed": 2}
    return sorted(found, key=lambda incident: order[section_of(incident.status)])  # stable: keeps newest first


def read_cards(session: Session, site: Site, incidents: Sequence[Incident]) -> list[Card]:
    """The cards of `incidents`, with their photos, requests and latest steps read in one query each."""
    ids = [incident.id for incident in incidents]
    photos: dict[str, list[PhotoLink]] = {}
    for photo in session.scalars(select(IncidentPhoto).where(IncidentPhoto.incident_id.in_(ids))
                                 .order_by(IncidentPhoto.id)):
        photos.setdefault(photo.incident_id, []).append(PhotoLink(id=photo.id, url=f"/photos/{photo.id}"))
    # A request asked before the incident was last reassigned lapsed with that assignment: not the card's.
    requests = _latest(session.scalars(select(ExtensionRequest).where(
        ExtensionRequest.incident_id.in_(ids),
        ~reassignments_since(ExtensionRequest.incident_id, ExtensionRequest.at).exists())
        .order_by(ExtensionRequest.id)))
    newest_step = (select(func.max(IncidentEvent.id)).where(IncidentEvent.incident_id.in_(ids))
                   .group_by(IncidentEvent.incident_id))
    steps = _latest(session.scalars(select(IncidentEvent).where(IncidentEvent.id.in_(newest_step))))
    cameras = {camera.id: camera for camera in site.config.cameras}
    return [card(site, incident, cameras.get(incident.camera_id), photos.get(incident.id, []),
                 requests.get(incident.id), steps.get(incident.id)) for incident in incidents]


def _latest(rows: Iterable[_Row]) -> dict[str, _Row]:
    """Each incident's last row of `rows` (given in id order)."""
    return {row.incident_id: row for row in rows}


def card(site: Site, incident: Incident, camera: CameraConfig | None, photos: list[PhotoLink],
         extension: ExtensionRequest | None, last_step: IncidentEvent | None) -> Card:
    tz = site.config.tz
    grid = site.grids.get(incident.grid_id) if incident.grid_id else None
    which, due = deadline_in_force(incident)
    open_now = incident.status in OPEN_STATUSES
    if extension is not None and extension.status is RequestStatus.PENDING and not open_now:
        extension = None  # it lapsed when the incident closed: nobody will decide it
    return Card(
        id=incident.id, kind=incident.kind, kind_label=incident.kind_label or site_kind(site, incident.kind),
        status=incident.status, status_label=status_label(incident.status), section=section_of(incident.status),
        camera_id=incident.camera_id, camera_name=incident.camera_name, zone=incident.zone,
        grid_id=incident.grid_id, grid_name=grid.name if grid is not None else None,
        map_url=map_url(camera.location if camera is not None else None, incident.camera_name),
        confirmed_at=local(incident.confirmed_at, tz), accept_by=local_or_none(incident.accept_by, tz),
        resolve_by=local_or_none(incident.resolve_by, tz),
        deadline=DeadlineView(which=which, at=local(due, tz)) if open_now and due is not None else None,
        evidence_url=f"/evidence/{quote(incident.id, safe='')}" if incident.snapshot else None,
        photos=photos, extension=extension_view(extension, tz) if extension is not None else None,
        actions=phone_actions(incident.status, extension),
        last_step=LastStep(action=last_step.action, label=step_label(last_step.action), at=local(last_step.at, tz),
                           note=last_step.note) if last_step is not None else None)


def extension_view(asked: ExtensionRequest, tz: ZoneInfo) -> ExtensionView:
    return ExtensionView(id=asked.id, status=asked.status, minutes=asked.minutes, reason=asked.reason,
                         at=local(asked.at, tz), decision_note=asked.decision_note)


def site_kind(site: Site, code: str) -> str:
    kind = site.kinds.get(code)
    return kind.label_zh if kind is not None else code


def local(at: datetime, tz: ZoneInfo) -> datetime:
    return at.astimezone(tz)


def local_or_none(at: datetime | None, tz: ZoneInfo) -> datetime | None:
    return at.astimezone(tz) if at is not None else None


def read_inbox(session: Session, site: Site, worker: WorkerRef, now: datetime) -> Inbox:
    incidents = worker_incidents(session, worker.id, now)
    cards = read_cards(session, site, incidents)
    return Inbox(worker=worker, now=local(now, site.config.tz), open_count=sum(c.section == "open" for c in cards),
                 incidents=cards)

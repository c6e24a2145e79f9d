"""The cameras: a card per camera in the user's scope (its latest picture, state and since when,
frames/s, last incident), each camera's latest picture, and the zone editor on that picture, which
saves into the site file — after check-config's validation, its comments kept — for `aibrain run`
to reload (the outcome shown once the run wrote it)."""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi import Path as PathParameter
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from aibrain.live.live_files import CameraStatus, camera_picture, live_dir, read_camera_status, read_reload_outcome
from aibrain.web.incident_view import STATUS_LABELS, SiteNames
from aibrain.web.login import client_address
from aibrain.web.overview import CAMERA_STATE_LABELS
from aibrain.web.overview_figures import latest_camera_states
from aibrain.web.scope import in_scope
from aibrain.web.signed_in import Admin, Changer, Reader, SignedIn
from aibrain.web.site_on_disk import SiteOnDisk, ZonePaths, file_version, site_on_disk, write_checked
from aibrain.web.workbench import Workbench, workbench
from configs.load import Site
from configs.schema import CameraConfig
from configs.site_writer import SiteEditError, ZoneEdit, replace_zones
from routing.access import audit
from routing.access.roles import Role
from routing.incidents.tables import Incident

router = APIRouter()
Bench = Annotated[Workbench, Depends(workbench)]
CameraId = Annotated[str, PathParameter(max_length=64)]

ZONES_SAVED = "zones_saved"  # the audit log's action
STATUS_FRESH_FOR = timedelta(seconds=30)  # the run rewrites cameras.json every second; older: it is not running
MAX_ZONES = 200
_saving = threading.Lock()  # one save at a time, each over the very text its editor was shown


def camera_grids(site: Site, camera: CameraConfig) -> set[str]:
    """The grids a camera reports to: its zones' own grids and the grid at its location."""
    located = site.grids.grid_at(*camera.location) if camera.location else None
    return {zone.grid for zone in camera.zones if zone.grid} | ({located.id} if located else set())


def sees_camera(user: SignedIn, site: Site, camera: CameraConfig) -> bool:
    return user.ungridded or bool(camera_grids(site, camera) & user.grid_ids)


def scoped_camera(bench: Workbench, user: SignedIn, camera_id: str) -> tuple[SiteOnDisk, int, CameraConfig]:
    """The camera `camera_id` of the site file as it is now, its index there; 404 unless the user sees it."""
    disk = site_on_disk(bench.site)
    for index, camera in enumerate(disk.site.config.cameras):
        if camera.id == camera_id and sees_camera(user, disk.site, camera):
            return disk, index, camera
    raise HTTPException(404, "no such camera in your scope")


def live_folder(site: Site) -> Path:
    return live_dir(site.path(site.config.evidence_dir))


@dataclass(frozen=True)
class CameraCard:
    id: str
    name: str
    state: str  # a CameraState value, or "unknown"
    state_label: str
    since: datetime | None
    fps: float | None  # None: no live run reporting
    picture_url: str | None
    zones: list[str]
    grids: list[str]  # names
    last_incident: Incident | None

    @property
    def online(self) -> bool:
        return self.state == "online"


def scoped_cards(bench: Workbench, user: SignedIn) -> tuple[SiteNames, list[CameraCard]]:
    """A card for each camera of the site file that the user sees. State and since when come from the
    camera's health events (as the overview counts them), else from the live run's files."""
    site = site_on_disk(bench.site).site
    cameras = [camera for camera in site.config.cameras if sees_camera(user, site, camera)]
    ids = [camera.id for camera in cameras]
    with bench.sessions() as session:
        events = latest_camera_states(session, ids)
        incidents = last_incidents(session, user, ids)
    folder = live_folder(site)
    statuses, now = read_camera_status(folder), bench.clock()
    names = SiteNames.of(site)
    cards = []
    for camera in cameras:
        event, status = events.get(camera.id), statuses.get(camera.id)
        live = status if status is not None and now - status.updated_at < STATUS_FRESH_FOR else None
        state = event.state.value if event else live.state if live else "unknown"
        cards.append(CameraCard(
            id=camera.id, name=camera.name, state=state, state_label=CAMERA_STATE_LABELS.get(state, state),
            since=event.at if event else live.since if live else None, fps=live.fps if live else None,
            picture_url=picture_url(folder, camera.id, status), zones=[zone.name for zone in camera.zones],
            grids=[names.grid(grid_id) for grid_id in sorted(camera_grids(site, camera))],
            last_incident=incidents.get(camera.id)))
    return names, cards


@router.get("/cameras", include_in_schema=False)
def camera_cards(request: Request, user: Reader, bench: Bench) -> Response:
    names, cards = scoped_cards(bench, user)
    return bench.page(request, "cameras.html.j2", {
        "user": user, "active": "/cameras", "cards": cards, "names": names, "status_labels": STATUS_LABELS,
        "online": sum(card.online for card in cards), "shown_fps": shown_fps})


class CameraNow(BaseModel):
    """What the cameras page refreshes of a card every few seconds, as the page shows it."""

    id: str
    state: str
    state_label: str
    since: str
    fps: str
    picture_url: str | None


class CamerasNow(BaseModel):
    cameras: list[CameraNow]
    online: int


@router.get("/api/cameras")
def cameras_now(user: Reader, bench: Bench) -> CamerasNow:
    names, cards = scoped_cards(bench, user)
    return CamerasNow(online=sum(card.online for card in cards), cameras=[
        CameraNow(id=card.id, state=card.state, state_label=card.state_label, since=names.when(card.since),
                  fps=shown_fps(card.fps), picture_url=card.picture_url) for card in cards])


def shown_fps(fps: float | None) -> str:
    return "—" if fps is None else f"{fps:.1f}"


def last_incidents(session: Session, user: SignedIn, camera_ids: list[str]) -> dict[str, Incident]:
    """Each camera's newest incident among those the user sees."""
    if not camera_ids:
        return {}
    scope = in_scope(user)
    newest = (select(Incident.camera_id, func.max(Incident.confirmed_at).label("at"))
              .where(Incident.camera_id.in_(camera_ids), scope).group_by(Incident.camera_id).subquery())
    rows = session.scalars(select(Incident).join(newest, and_(Incident.camera_id == newest.c.camera_id,
                                                              Incident.confirmed_at == newest.c.at))
                           .where(scope).order_by(Incident.id))
    return {incident.camera_id: incident for incident in rows}


def picture_url(folder: Path, camera_id: str, status: CameraStatus | None) -> str | None:
    if camera_picture(folder, camera_id) is None:
        return None
    taken = status.picture_at.timestamp() if status and status.picture_at else 0
    return f"/cameras/{camera_id}/picture?t={taken:.0f}"  # a new picture, a new URL: no stale cached one


@router.get("/cameras/{camera_id}/picture", include_in_schema=False)
def camera_picture_file(camera_id: CameraId, user: Reader, bench: Bench) -> Response:
    disk, _index, camera = scoped_camera(bench, user, camera_id)
    path = camera_picture(live_folder(disk.site), camera.id)  # the site's id and folder, never the request's
    if path is None:
        raise HTTPException(404, "no picture from this camera yet")
    return FileResponse(path, media_type="image/jpeg")


@router.get("/cameras/{camera_id}/zones", include_in_schema=False)
def zone_editor(request: Request, camera_id: CameraId, user: Reader, bench: Bench) -> Response:
    disk, _index, camera = scoped_camera(bench, user, camera_id)
    site = disk.site
    names = SiteNames.of(site)
    used = {zone.grid for zone in camera.zones if zone.grid}
    located = site.grids.grid_at(*camera.location) if camera.location else None
    folder = live_folder(site)
    admin = user.role is Role.ADMIN
    outcome = read_reload_outcome(folder) if admin else None
    editor = {
        "camera": {"id": camera.id, "name": camera.name},
        "zones": [{"name": zone.name, "grid": zone.grid, "tags": zone.tags, "polygon": zone.polygon, "source": index,
                   "allow": sorted(zone.allow)} for index, zone in enumerate(camera.zones)],
        "grids": [{"id": grid_id, "name": grid.name, "place": names.place(grid_id)}
                  for grid_id, grid in site.grids.items() if grid_id in user.grid_ids or grid_id in used],
        "location_grid": names.grid(located.id) if located else None,
        "picture": picture_url(folder, camera.id, read_camera_status(folder).get(camera.id)),
        "version": disk.version, "can_save": admin and disk.loads,
        "save_url": f"/cameras/{camera.id}/zones", "reload_url": "/api/cameras/reload",
        "reload": outcome.model_dump(mode="json") if outcome else None,
    }
    return bench.page(request, "zone_editor.html.j2", {
        "user": user, "active": "/cameras", "camera": camera, "editor": editor, "admin": admin,
        "file_problems": [f"{problem.field}: {problem.message}" for problem in disk.problems]})


class ZonesSave(BaseModel):
    """What the editor posts: the camera's whole zone list, and the version of the file it was shown."""

    model_config = ConfigDict(extra="forbid")

    version: str = Field(max_length=64)
    zones: list[ZoneEdit] = Field(max_length=MAX_ZONES)


@router.post("/cameras/{camera_id}/zones", include_in_schema=False)
def save_zones(request: Request, camera_id: CameraId, body: ZonesSave, user: Changer, _admin: Admin,
               bench: Bench) -> JSONResponse:
    with _saving:
        disk, index, camera = scoped_camera(bench, user, camera_id)
        if not disk.loads:
            return conflict("the site file has problems of its own; fix them by hand first: "
                            + "; ".join(f"{problem.field}: {problem.message}" for problem in disk.problems))
        data = disk.site.file.read_bytes()
        if file_version(data) != body.version:
            return conflict("the site file changed since this editor opened: reload the page to edit it as it is now")
        try:
            text = replace_zones(data.decode("utf-8"), camera.id, body.zones)
        except SiteEditError as exc:
            return conflict(str(exc))
        saved_at = bench.clock()
        try:
            problems = write_checked(disk.site.file, text)
        except OSError as exc:  # a read-only folder, a full disk: nothing was replaced
            return JSONResponse({"detail": f"the site file cannot be written: {exc.strerror or exc}"}, status_code=500)
    if problems:
        paths = ZonePaths.of(index, camera.id, [zone.name for zone in body.zones])
        return JSONResponse({"problems": [asdict(paths.place(problem)) for problem in problems]}, status_code=422)
    summary = f"{len(body.zones)} zones: " + ", ".join(zone.name for zone in body.zones)
    with bench.sessions() as session, session.begin():
        audit.record(session, saved_at, user.username, ZONES_SAVED, camera.id, detail=summary[:500],
                     address=client_address(request))
    return JSONResponse({"saved": True, "version": file_version(text.encode("utf-8")), "zones": len(body.zones),
                         "saved_at": saved_at.isoformat()})


def conflict(message: str) -> JSONResponse:
    return JSONResponse({"detail": message}, status_code=409)


@router.get("/api/cameras/reload")
def reload_outcome(_user: Admin, bench: Bench) -> JSONResponse:
    """What the running `aibrain run` made of the site file's last change (None before any)."""
    outcome = read_reload_outcome(live_folder(bench.site))
    return JSONResponse({"outcome": outcome.model_dump(mode="json") if outcome else None})

"""The overview (指挥大屏): the scope's grids on an ECharts map coloured by open incidents, a marker
per open incident, today's counters, camera health and the live feed. The page carries its first
figures; /api/overview gives them again whenever the live feed says something changed, and
/api/grids.geojson the scope's grids for the map. A grid worker's `/` is their phone app (/m/)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel
from shapely.geometry import mapping

from aibrain.web import overview_figures as figures
from aibrain.web.incident_view import ACTION_LABELS, STATUS_LABELS, SiteNames
from aibrain.web.live_feed import incident_event
from aibrain.web.scope import in_scope
from aibrain.web.signed_in import Reader, SignedIn
from aibrain.web.workbench import Workbench, workbench
from configs.load import Site
from routing.access.roles import Role
from routing.assign.grids import GeoPoint
from routing.incidents.tables import CameraEvent

router = APIRouter()
Bench = Annotated[Workbench, Depends(workbench)]
RECENT_STEPS = 20  # the live feed's backfill

# How the page names a camera's state.
CAMERA_STATE_LABELS = {"online": "在线 online", "connecting": "连接中 connecting", "stalled": "卡顿 stalled",
                       "offline": "离线 offline", "finished": "已结束 finished", "failed": "故障 failed",
                       "unknown": "未上报 never reported"}


class GridOpen(BaseModel):
    id: str
    name: str
    open: int


class Marker(BaseModel):
    """An open incident where its camera stands (else inside its grid)."""

    id: str
    kind_label: str
    camera_name: str
    grid: str
    status: str
    confirmed_at: datetime
    overdue: bool
    lon: float
    lat: float


class CameraProblem(BaseModel):
    id: str
    name: str
    state: str  # a CameraState value, or "unknown" when it never reported
    since: datetime | None
    reason: str


class CameraHealth(BaseModel):
    online: int
    offline: int
    unknown: int
    problems: list[CameraProblem]  # every camera not online, longest first


class Overview(BaseModel):
    at: datetime
    day: str  # the site's date the counters count
    counters: figures.TodayCounts
    grids: list[GridOpen]  # every grid in scope, with its open incidents
    open_elsewhere: int  # open incidents in scope outside those grids (no grid, or a worker's other grids)
    open_total: int
    markers: list[Marker]
    markers_left_out: int  # open incidents beyond figures.MARKER_CAP, not drawn
    cameras: CameraHealth
    recent: list[dict[str, object]]  # the newest audit steps, as the live feed sends them, newest first


@router.get("/", include_in_schema=False)
def overview_page(request: Request, user: Reader, bench: Bench) -> Response:
    if user.role is Role.WORKER:  # the wall screen is no use on the street; sign-in still lands on `/`
        return RedirectResponse("/m/", status_code=303)
    page_data = {"overview": overview_figures(bench, user).model_dump(mode="json"), "tz": bench.site.config.timezone,
                 "status_labels": {status.value: label for status, label in STATUS_LABELS.items()},
                 "action_labels": {action.value: label for action, label in ACTION_LABELS.items()},
                 "camera_labels": CAMERA_STATE_LABELS,
                 "camera_names": {camera.id: camera.name for camera in bench.site.config.cameras}}
    return bench.page(request, "overview.html.j2", {"user": user, "active": "/", "page_data": page_data})


@router.get("/api/overview")
def overview_api(user: Reader, bench: Bench) -> Overview:
    return overview_figures(bench, user)


@router.get("/api/grids.geojson")
def grids_geojson(user: Reader, bench: Bench) -> JSONResponse:
    """The grids under the user's node, in file order, with id, name, street and community."""
    features = [{"type": "Feature", "geometry": mapping(grid.geometry),
                 "properties": {"id": grid.id, "name": grid.name, "street": grid.street, "community": grid.community}}
                for grid in bench.site.grids.values() if grid.id in user.grid_ids]
    return JSONResponse({"type": "FeatureCollection", "features": features}, media_type="application/geo+json")


def overview_figures(bench: Workbench, user: SignedIn) -> Overview:
    now = bench.clock()
    tz = bench.site.config.tz
    scope = in_scope(user)
    cameras = bench.site.config.cameras
    with bench.sessions() as session:
        counters = figures.today_counts(session, scope, now, tz)
        open_counts = figures.open_by_grid(session, scope)
        newest_open = figures.open_incidents(session, scope, now)
        recent = figures.recent_steps(session, scope, RECENT_STEPS)
        states = figures.latest_camera_states(session, (camera.id for camera in cameras))
    names, places = SiteNames.of(bench.site), MapPlaces.of(bench.site)
    grids = [GridOpen(id=grid_id, name=grid.name, open=open_counts.get(grid_id, 0))
             for grid_id, grid in bench.site.grids.items() if grid_id in user.grid_ids]
    open_total = sum(open_counts.values())
    markers = [Marker(id=row.id, kind_label=row.kind_label or names.kinds.get(row.kind, row.kind),
                      camera_name=row.camera_name, grid=names.grid(row.grid_id), status=row.status.value,
                      confirmed_at=row.confirmed_at, overdue=row.overdue, lon=place.lon, lat=place.lat)
               for row in newest_open if (place := places.place(row.camera_id, row.grid_id)) is not None]
    return Overview(at=now, day=now.astimezone(tz).date().isoformat(), counters=counters, grids=grids,
                    open_elsewhere=open_total - sum(grid.open for grid in grids), open_total=open_total,
                    markers=markers, markers_left_out=max(0, open_total - len(newest_open)),
                    cameras=camera_health([(camera.id, camera.name) for camera in cameras], states),
                    recent=[incident_event(step, incident).data for step, incident in recent])


@dataclass(frozen=True)
class MapPlaces:
    """Where an incident is drawn: its camera's location; else a point inside its grid (a camera with no
    location, or one removed from the site since) — unlike the centroid, inside even a concave grid."""

    cameras: dict[str, GeoPoint]
    grids: dict[str, GeoPoint]

    @classmethod
    def of(cls, site: Site) -> MapPlaces:
        return cls(cameras={camera.id: GeoPoint(*camera.location) for camera in site.config.cameras
                            if camera.location is not None},
                   grids={grid_id: GeoPoint(*grid.geometry.representative_point().coords[0])
                          for grid_id, grid in site.grids.items()})

    def place(self, camera_id: str, grid_id: str | None) -> GeoPoint | None:
        return self.cameras.get(camera_id) or self.grids.get(grid_id or "")


def camera_health(cameras: list[tuple[str, str]], states: dict[str, CameraEvent]) -> CameraHealth:
    """Online/offline/never-reported counts of the site's cameras (id, name), and those not online,
    the longest-troubled first and the never-reported last."""
    troubled = sorted((latest.at, camera_id, name, latest) for camera_id, name in cameras
                      if (latest := states.get(camera_id)) is not None and not figures.is_online(latest.state))
    problems = [CameraProblem(id=camera_id, name=name, state=latest.state.value, since=at, reason=latest.reason)
                for at, camera_id, name, latest in troubled]
    unknown = [CameraProblem(id=camera_id, name=name, state="unknown", since=None, reason="")
               for camera_id, name in cameras if camera_id not in states]
    return CameraHealth(online=len(cameras) - len(problems) - len(unknown), offline=len(problems),
                        unknown=len(unknown), problems=problems + unknown)

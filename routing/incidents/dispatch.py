"""The routing stage's entry point: a confirmed violation becomes an incident and an alert.

The incident, its audit rows and the outbox message commit in one transaction; the relay
publishes from the outbox afterwards, so a crash never leaves an alert without its incident
nor an incident whose alert is forgotten.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from common.clock import utc_now
from common.redact import redact_url
from detector.violation import Violation
from routing.assign.grids import GeoPoint, Grid, GridMap
from routing.assign.roster import Roster, Worker
from routing.broker.topology import Topology
from routing.incidents import store
from routing.incidents.deadlines import DueLimits
from routing.incidents.lifecycle import next_status
from routing.incidents.tables import Incident, IncidentAction
from routing.messages.alert import AlertMessage, DueBy, Location
from streams.health import HealthEvent

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CameraInfo:
    """What routing knows of a camera: a display name and, when surveyed, where it stands."""

    name: str
    location: GeoPoint | None = None


@dataclass(frozen=True, slots=True)
class DispatchResult:
    incident_id: str
    dispatch_id: str
    worker_id: str | None  # None: sent to the fallback queue
    grid_id: str | None  # None: no grid found for the camera and zone
    kind_label_zh: str


# Fixed for ever: alerts already published carry dispatch ids derived under it.
_DISPATCH_NAMESPACE = uuid.UUID("6f1d3c0e-4b8a-5e2f-9a71-2c5d8e0b4f13")


def dispatch_id_for(incident_id: str) -> str:
    """The message id of an incident's first alert: derived from the incident's id, so every
    retry or replay of one violation publishes (and de-duplicates as) the same message."""
    return str(uuid.uuid5(_DISPATCH_NAMESPACE, incident_id))


class Dispatcher:
    """Turns violations into stored incidents with their alert queued in the outbox.

    Grid: the zone's explicit grid, else the grid containing the camera's location. Worker: the
    one on duty in that grid at `confirmed_at` (frame time, so replays route like live runs);
    nobody on duty, or no grid, sends the alert to the fallback queue. The command centre
    sees every alert either way.

    >>> dispatcher = Dispatcher(sessions, roster, {("cam-01", "sidewalk"): "g1"}, grids,
    ...                         {"cam-01": CameraInfo("东门")}, DueLimits(), Topology(),
    ...                         ZoneInfo("Asia/Shanghai"), wake=relay.wake)  # doctest: +SKIP
    >>> dispatcher.dispatch(violation).worker_id  # doctest: +SKIP
    'w-01'
    """

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        roster: Roster,
        zone_grids: Mapping[tuple[str, str], str],
        grids: GridMap,
        cameras: Mapping[str, CameraInfo],
        limits: DueLimits,
        topology: Topology,
        tz: ZoneInfo,
        wake: Callable[[], None] | None = None,
        clock: Callable[[], datetime] = utc_now,
        labels: Mapping[str, str] | None = None,
    ) -> None:
        unknown = sorted({g for g in zone_grids.values() if g not in grids})
        if unknown:
            raise ValueError(f"zone grids not in the grid map: {unknown}")
        self._sessions = session_factory
        self._roster = roster
        self._zone_grids = dict(zone_grids)
        self._grids = grids
        self._cameras = dict(cameras)
        self._limits = limits
        self._topology = topology
        self._tz = tz
        self._wake = wake
        self._clock = clock
        self._labels = dict(labels or {})  # kind code -> 中文 label; a kind without one shows its code

    def grid_for(self, camera_id: str, zone: str) -> Grid | None:
        grid_id = self._zone_grids.get((camera_id, zone))
        if grid_id is not None:
            return self._grids[grid_id]
        location = self._camera(camera_id).location
        return self._grids.grid_at(location.lon, location.lat) if location else None

    def dispatch(self, violation: Violation) -> DispatchResult:
        """Store the incident and queue its alert (one commit), then wake the relay.

        Idempotent: the incident's id is the violation's, so handing the same violation over again
        (a retry after a commit whose reply was lost, a replay of the spool) finds the incident
        stored the first time and returns the same result, with no second incident or alert.
        """
        grid = self.grid_for(violation.camera_id, violation.zone)
        worker = self._roster.on_duty(grid.id, violation.confirmed_at) if grid else None
        if grid is None:
            log.warning("no grid for camera %s zone %s: alert goes to the fallback queue",
                        violation.camera_id, violation.zone)
        incident_id, dispatch_id = violation.id, dispatch_id_for(violation.id)
        alert = self._alert(violation, grid, worker, incident_id, dispatch_id)
        now = self._clock()

        with self._sessions() as session, session.begin():
            stored = session.get(Incident, incident_id)
            if stored is None:
                self._add(session, violation, alert, now)
                result = DispatchResult(incident_id, dispatch_id, alert.worker_id, alert.grid_id,
                                        alert.kind_label_zh)
            else:
                log.info("violation %s: incident already stored, not dispatched again", incident_id)
                result = DispatchResult(incident_id, dispatch_id, stored.worker_id, stored.grid_id, stored.kind_label)
        if self._wake is not None:
            self._wake()
        return result

    def _add(self, session: Session, violation: Violation, alert: AlertMessage, now: datetime) -> None:
        incident_id = alert.incident_id
        detected = next_status(None, IncidentAction.DETECT)
        dispatched = next_status(detected, IncidentAction.DISPATCH)
        store.add_incident(session, Incident(
            id=incident_id, kind=violation.kind, kind_label=alert.kind_label_zh, status=dispatched,
            camera_id=violation.camera_id, camera_name=alert.camera_name, zone=violation.zone,
            grid_id=alert.grid_id, worker_id=alert.worker_id, object_kind=violation.object_kind,
            class_name=violation.class_name, track_id=violation.track_id,
            confidence=violation.confidence, bbox=list(violation.bbox),
            frame_size=list(violation.frame_size), first_seen=violation.first_seen,
            confirmed_at=violation.confirmed_at, snapshot=alert.snapshot, created_at=now,
            accept_due=alert.due_by.accept, resolve_due=alert.due_by.resolve, escalation_level=0,
            verification_attempts=0,
        ))
        store.add_transition(session, incident_id, IncidentAction.DETECT, None, detected, "detector",
                             violation.confirmed_at)
        store.add_transition(session, incident_id, IncidentAction.DISPATCH, detected, dispatched, "router", now,
                             note=f"to {alert.worker_id or 'fallback queue'}")
        store.add_outbox_message(
            session, message_id=alert.dispatch_id, exchange=self._topology.exchange,
            routing_key=self._topology.routing_key(alert.worker_id), body=alert.to_json(),
            headers={"schema_version": alert.schema_version, "kind": violation.kind,
                     "incident_id": incident_id},
            created_at=now,
        )

    def record_camera_event(self, event: HealthEvent) -> None:
        """Keep a camera's health change (an offline camera explains missing incidents)."""
        with self._sessions() as session, session.begin():
            store.add_camera_event(session, event.camera_id, event.state,
                                   datetime.fromtimestamp(event.ts, UTC), redact_url(event.reason))

    def _camera(self, camera_id: str) -> CameraInfo:
        return self._cameras.get(camera_id) or CameraInfo(name=camera_id)

    def _alert(self, violation: Violation, grid: Grid | None, worker: Worker | None,
               incident_id: str, dispatch_id: str) -> AlertMessage:
        camera = self._camera(violation.camera_id)
        accept_by, resolve_by = self._limits.due(violation.kind, violation.confirmed_at)
        local = self._tz  # times in the message read in the site's zone, offset included
        return AlertMessage(
            dispatch_id=dispatch_id, incident_id=incident_id,
            kind=violation.kind, kind_label_zh=self._labels.get(violation.kind, violation.kind),
            grid_id=grid.id if grid else None, grid_name=grid.name if grid else None,
            worker_id=worker.id if worker else None, worker_name=worker.name if worker else None,
            camera_id=violation.camera_id, camera_name=camera.name, zone=violation.zone,
            location=(Location(lon=camera.location.lon, lat=camera.location.lat)
                      if camera.location else None),
            first_seen=violation.first_seen.astimezone(local),
            confirmed_at=violation.confirmed_at.astimezone(local),
            confidence=violation.confidence, bbox=violation.bbox, frame_size=violation.frame_size,
            snapshot=str(violation.snapshot) if violation.snapshot else None,
            object_kind=violation.object_kind, class_name=violation.class_name,
            track_id=violation.track_id,
            due_by=DueBy(accept=accept_by.astimezone(local), resolve=resolve_by.astimezone(local)),
        )

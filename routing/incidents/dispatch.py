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


@dataclass(frozen=True, slots=True)
class AlertBuilder:
    """Builds the alert a worker receives from an incident (stored or about to be): the incident's
    own fields, its grid's name and its camera's location from the site, times in the site's zone.
    Used at dispatch and again when the command centre hands an incident to another worker.

    >>> alerts = AlertBuilder(grids, {"cam-01": CameraInfo("东门")}, ZoneInfo("Asia/Shanghai"))  # doctest: +SKIP
    >>> alerts.build(incident, str(uuid.uuid4()), roster.workers[1]).due_by  # doctest: +SKIP
    """

    grids: GridMap
    cameras: Mapping[str, CameraInfo]
    tz: ZoneInfo

    def camera(self, camera_id: str) -> CameraInfo:
        return self.cameras.get(camera_id) or CameraInfo(name=camera_id)

    def build(self, incident: Incident, dispatch_id: str, worker: Worker | None) -> AlertMessage:
        """The alert for `incident` as addressed to `worker` (None: the fallback queue), due by the
        incident's escalation clock (accept_due, resolve_due), which must be set."""
        if incident.accept_due is None or incident.resolve_due is None:
            raise ValueError(f"incident {incident.id} has no due times to alert with")
        grid = self.grids.get(incident.grid_id) if incident.grid_id else None
        location = self.camera(incident.camera_id).location
        local = self.tz  # times in the message read in the site's zone, offset included
        return AlertMessage(
            dispatch_id=dispatch_id, incident_id=incident.id, kind=incident.kind, kind_label_zh=incident.kind_label,
            grid_id=incident.grid_id, grid_name=grid.name if grid else None,
            worker_id=worker.id if worker else None, worker_name=worker.name if worker else None,
            camera_id=incident.camera_id, camera_name=incident.camera_name, zone=incident.zone,
            location=Location(lon=location.lon, lat=location.lat) if location else None,
            first_seen=incident.first_seen.astimezone(local), confirmed_at=incident.confirmed_at.astimezone(local),
            confidence=incident.confidence, bbox=tuple(incident.bbox), frame_size=tuple(incident.frame_size),
            snapshot=incident.snapshot, object_kind=incident.object_kind, class_name=incident.class_name,
            track_id=incident.track_id,
            due_by=DueBy(accept=incident.accept_due.astimezone(local), resolve=incident.resolve_due.astimezone(local)),
        )


def queue_alert(session: Session, topology: Topology, alert: AlertMessage, at: datetime) -> None:
    """Queue `alert` in the outbox for its worker's queue (the fallback queue when it names nobody)."""
    store.add_outbox_message(
        session, message_id=alert.dispatch_id, exchange=topology.exchange,
        routing_key=topology.routing_key(alert.worker_id), body=alert.to_json(),
        headers={"schema_version": alert.schema_version, "kind": alert.kind, "incident_id": alert.incident_id},
        created_at=at)


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
        self._limits = limits
        self._topology = topology
        self._wake = wake
        self._clock = clock
        self._labels = dict(labels or {})  # kind code -> 中文 label; a kind without one shows its code
        self.alerts = AlertBuilder(grids, dict(cameras), tz)

    def grid_for(self, camera_id: str, zone: str) -> Grid | None:
        grid_id = self._zone_grids.get((camera_id, zone))
        if grid_id is not None:
            return self._grids[grid_id]
        location = self.alerts.camera(camera_id).location
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
        now = self._clock()
        incident = self._incident(violation, grid, worker, now)
        dispatch_id = dispatch_id_for(incident.id)
        alert = self.alerts.build(incident, dispatch_id, worker)

        with self._sessions() as session, session.begin():
            stored = session.get(Incident, incident.id)
            if stored is None:
                self._add(session, incident, alert, now)
                result = DispatchResult(incident.id, dispatch_id, incident.worker_id, incident.grid_id,
                                        incident.kind_label)
            else:
                log.info("violation %s: incident already stored, not dispatched again", incident.id)
                result = DispatchResult(incident.id, dispatch_id, stored.worker_id, stored.grid_id, stored.kind_label)
        if self._wake is not None:
            self._wake()
        return result

    def _incident(self, violation: Violation, grid: Grid | None, worker: Worker | None, now: datetime) -> Incident:
        """The incident a violation becomes, dispatched; due by its kind's limits from confirmation,
        the deadlines promised equal to them."""
        accept_due, resolve_due = self._limits.due(violation.kind, violation.confirmed_at)
        return Incident(
            id=violation.id, kind=violation.kind, kind_label=self._labels.get(violation.kind, violation.kind),
            status=next_status(next_status(None, IncidentAction.DETECT), IncidentAction.DISPATCH),
            camera_id=violation.camera_id, camera_name=self.alerts.camera(violation.camera_id).name,
            zone=violation.zone, grid_id=grid.id if grid else None, worker_id=worker.id if worker else None,
            object_kind=violation.object_kind, class_name=violation.class_name, track_id=violation.track_id,
            confidence=violation.confidence, bbox=list(violation.bbox), frame_size=list(violation.frame_size),
            first_seen=violation.first_seen, confirmed_at=violation.confirmed_at,
            snapshot=str(violation.snapshot) if violation.snapshot else None,
            frame=str(violation.frame) if violation.frame else None, created_at=now,
            accept_due=accept_due, resolve_due=resolve_due, accept_by=accept_due, resolve_by=resolve_due,
            escalation_level=0, verification_attempts=0,
        )

    def _add(self, session: Session, incident: Incident, alert: AlertMessage, now: datetime) -> None:
        detected = next_status(None, IncidentAction.DETECT)
        store.add_incident(session, incident)
        store.add_transition(session, incident.id, IncidentAction.DETECT, None, detected, "detector",
                             incident.confirmed_at)
        store.add_transition(session, incident.id, IncidentAction.DISPATCH, detected, incident.status, "router", now,
                             note=f"to {incident.worker_id or 'fallback queue'}")
        queue_alert(session, self._topology, alert, now)

    def record_camera_event(self, event: HealthEvent) -> None:
        """Keep a camera's health change (an offline camera explains missing incidents)."""
        with self._sessions() as session, session.begin():
            store.add_camera_event(session, event.camera_id, event.state,
                                   datetime.fromtimestamp(event.ts, UTC), redact_url(event.reason))

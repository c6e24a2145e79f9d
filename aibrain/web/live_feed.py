"""Live updates for the workbench: one poller per process reads what was committed since it last
looked (new audit rows of incidents, camera health changes) and hands each to every browser
listening whose scope holds it.

Polling the tables, not a notification channel, works the same on SQLite and PostgreSQL and for
changes made by any process (`aibrain run`, the feedback consumer, another workbench). Two cheap
indexed queries every `every_s` serve any number of browsers; the 2 s from commit to screen
leave room for `every_s` of 0.5 s.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime

import anyio
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from common.redact import describe
from routing.incidents.tables import CameraEvent, Incident, IncidentEvent

log = logging.getLogger(__name__)

BATCH = 500  # rows taken per poll and table; a burst larger than that drains over the next polls
QUEUE_LIMIT = 1000  # a browser that falls this far behind is told to reload instead of holding memory


@dataclass(frozen=True, slots=True)
class FeedEvent:
    """One change as the browsers get it. `grid_id`/`worker_id` decide who sees it; camera events
    carry neither and go to every signed-in user."""

    topic: str  # "incident" or "camera"
    id: int
    at: datetime
    data: dict[str, object]
    grid_id: str | None = None
    worker_id: str | None = None
    from_worker_id: str | None = None  # a reassignment's worker before it: their inbox drops the incident


@dataclass(eq=False)  # kept in a set: each one is itself
class Subscription:
    accepts: Callable[[FeedEvent], bool]
    queue: asyncio.Queue[FeedEvent | None] = field(default_factory=lambda: asyncio.Queue(QUEUE_LIMIT))


class LiveFeed:
    """Start with `run()` as a task of the web server's event loop; `subscribe()` per browser.

    >>> feed = LiveFeed(sessions)                            # doctest: +SKIP
    >>> async for event in feed.subscribe(user_sees_event):   # doctest: +SKIP
    ...     send(event)
    """

    def __init__(self, sessions: sessionmaker[Session], every_s: float = 0.5) -> None:
        self._sessions = sessions
        self.every_s = every_s
        self._subscriptions: set[Subscription] = set()
        self._last_incident_event: int | None = None  # None until the first poll: start at the present
        self._last_camera_event: int | None = None
        self.polls = 0  # for tests and benchmarks: polls completed

    async def run(self) -> None:
        while True:
            try:
                events = await anyio.to_thread.run_sync(self._poll)
            except Exception as exc:  # noqa: BLE001 - the database away: keep the browsers, try again
                log.warning("live feed: cannot read new events (%s); trying again", describe(exc))
                events = []
            for event in events:
                self._publish(event)
            self.polls += 1
            await asyncio.sleep(self.every_s)

    async def subscribe(self, accepts: Callable[[FeedEvent], bool]) -> AsyncIterator[FeedEvent]:
        """Events this subscriber accepts, from now on, until it stops iterating (the browser left)."""
        subscription = Subscription(accepts)
        self._subscriptions.add(subscription)
        try:
            while (event := await subscription.queue.get()) is not None:
                yield event
        finally:
            self._subscriptions.discard(subscription)

    def close(self) -> None:
        """End every stream (the server is stopping): their browsers reconnect to whoever serves next."""
        for subscription in list(self._subscriptions):
            self._subscriptions.discard(subscription)
            with contextlib.suppress(asyncio.QueueFull):
                subscription.queue.put_nowait(None)

    @property
    def listeners(self) -> int:
        return len(self._subscriptions)

    def _publish(self, event: FeedEvent) -> None:
        for subscription in list(self._subscriptions):
            if not subscription.accepts(event):
                continue
            try:
                subscription.queue.put_nowait(event)
            except asyncio.QueueFull:  # too slow: end its stream, its page reloads and catches up
                self._subscriptions.discard(subscription)
                with contextlib.suppress(asyncio.QueueEmpty):
                    subscription.queue.get_nowait()
                subscription.queue.put_nowait(None)

    def _poll(self) -> list[FeedEvent]:
        with self._sessions() as session:
            if self._last_incident_event is None or self._last_camera_event is None:
                self._last_incident_event = session.scalar(select(func.max(IncidentEvent.id))) or 0
                self._last_camera_event = session.scalar(select(func.max(CameraEvent.id))) or 0
                return []
            incident_rows = session.execute(
                select(IncidentEvent, Incident).join(Incident, Incident.id == IncidentEvent.incident_id)
                .where(IncidentEvent.id > self._last_incident_event).order_by(IncidentEvent.id).limit(BATCH)).all()
            camera_rows = session.scalars(
                select(CameraEvent).where(CameraEvent.id > self._last_camera_event)
                .order_by(CameraEvent.id).limit(BATCH)).all()
        events = [incident_event(step, incident) for step, incident in incident_rows]
        events += [camera_event(row) for row in camera_rows]
        if incident_rows:
            self._last_incident_event = incident_rows[-1][0].id
        if camera_rows:
            self._last_camera_event = camera_rows[-1].id
        return events


def incident_event(step: IncidentEvent, incident: Incident) -> FeedEvent:
    return FeedEvent(
        topic="incident", id=step.id, at=step.at, grid_id=incident.grid_id, worker_id=incident.worker_id,
        from_worker_id=step.from_worker_id,
        data={"incident_id": incident.id, "action": step.action.value, "status": incident.status.value,
              "step_status": step.to_status.value, "actor": step.actor, "at": step.at.isoformat(),
              "note": step.note, "kind": incident.kind, "kind_label": incident.kind_label,
              "camera_id": incident.camera_id, "camera_name": incident.camera_name, "zone": incident.zone,
              "grid_id": incident.grid_id, "worker_id": incident.worker_id, "from_worker_id": step.from_worker_id})


def camera_event(row: CameraEvent) -> FeedEvent:
    return FeedEvent(topic="camera", id=row.id, at=row.at,
                     data={"camera_id": row.camera_id, "state": row.state.value, "at": row.at.isoformat(),
                           "reason": row.reason})

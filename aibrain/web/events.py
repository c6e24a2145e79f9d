"""The live event stream, GET /events: server-sent events from the live feed, each incident step only
to users whose scope holds the incident, camera health changes to every signed-in user.

A page opens one stream per tab (static/live.js shares it between the page's scripts). Each event is
`event: incident|camera`, `id: <topic>-<row id>` and its data as JSON; the first message sets the
browser's reconnect delay (`retry:`), and a comment every PING_S keeps proxies from closing a quiet
stream. When the feed drops a browser that fell too far behind, the stream ends and the browser
reconnects and reloads the figures it may have missed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Annotated

from fastapi import APIRouter, Depends
from sse_starlette import EventSourceResponse, JSONServerSentEvent, ServerSentEvent

from aibrain.web.live_feed import FeedEvent, LiveFeed
from aibrain.web.signed_in import Reader, SignedIn
from aibrain.web.workbench import Workbench, workbench
from routing.access.roles import Role

router = APIRouter()
Bench = Annotated[Workbench, Depends(workbench)]
RETRY_MS = 2000  # the browser's wait before reconnecting a stream that ended
PING_S = 15.0
INCIDENT = "incident"


def visible_to(user: SignedIn) -> Callable[[FeedEvent], bool]:
    """Whether the feed hands an event to `user`: incident steps in their scope (and, for a worker, the
    reassignment that took one of theirs away), every camera event."""

    def accepts(event: FeedEvent) -> bool:
        return (event.topic != INCIDENT or user.sees(event.grid_id, event.worker_id)
                or (user.role is Role.WORKER and event.from_worker_id == user.worker_id))

    return accepts


@router.get("/events")
async def events(user: Reader, bench: Bench) -> EventSourceResponse:
    # No buffering by a reverse proxy (nginx honours this header), or events arrive in lumps.
    return EventSourceResponse(stream(bench.feed, user), ping=PING_S, headers={"X-Accel-Buffering": "no"})


async def stream(feed: LiveFeed, user: SignedIn) -> AsyncIterator[ServerSentEvent]:
    yield ServerSentEvent(comment="live", retry=RETRY_MS)
    async for event in feed.subscribe(visible_to(user)):
        yield JSONServerSentEvent(event.data, event=event.topic, id=f"{event.topic}-{event.id}")

"""Who is asking: the session cookie resolved to a signed-in user and their scope, and the CSRF
check every state change passes. Route handlers take these as FastAPI dependencies."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from aibrain.web.workbench import Workbench, workbench
from routing.access.access_tables import User
from routing.access.roles import Role
from routing.access.web_sessions import find_session
from routing.assign.organisation import Node

SESSION_COOKIE = "aibrain_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"


class NotSignedIn(Exception):
    """No valid session: pages send the browser to the sign-in page, the API answers 401."""


@dataclass(frozen=True)
class SignedIn:
    """The user behind a request, with what their scope covers resolved once."""

    username: str
    display_name: str
    role: Role
    worker_id: str | None
    node: Node
    grid_ids: frozenset[str]
    ungridded: bool  # the district: sees every incident, those no grid holds (or held once) included
    csrf_token: str

    @property
    def actor(self) -> str:
        """How audit rows and incident updates name this person."""
        return f"user:{self.username}"

    @property
    def acts_on_incidents(self) -> bool:
        return self.role is not Role.WORKER

    def sees(self, grid_id: str | None, worker_id: str | None) -> bool:
        """Whether an incident in `grid_id` assigned to `worker_id` lies in this user's scope."""
        if self.role is Role.WORKER:
            return worker_id is not None and worker_id == self.worker_id
        return self.ungridded or grid_id in self.grid_ids


def _signed_in(request: Request, bench: Annotated[Workbench, Depends(workbench)]) -> SignedIn:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise NotSignedIn
    web = bench.settings
    with bench.sessions() as session, session.begin():
        found = find_session(session, token, bench.clock(), idle=timedelta(minutes=web.session_idle_min),
                             absolute=timedelta(hours=web.session_max_h))
        user = signed_in_as(bench, found[1], found[0].csrf_token) if found else None
    if user is None:  # raised after the commit: an ended session's row is deleted for good
        raise NotSignedIn
    return user


def signed_in_as(bench: Workbench, user: User, csrf_token: str) -> SignedIn:
    node = bench.organisation.node(user.scope)
    return SignedIn(username=user.username, display_name=user.display_name or user.username, role=Role(user.role),
                    worker_id=user.worker_id, node=node, grid_ids=bench.organisation.grids_under(node),
                    ungridded=bench.organisation.covers_ungridded(node), csrf_token=csrf_token)


async def _csrf_checked(request: Request, user: Annotated[SignedIn, Depends(_signed_in)]) -> SignedIn:
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()  # Starlette keeps the parsed form for the handler's Form fields
        field = form.get(CSRF_FIELD)
        sent = field if isinstance(field, str) else None
    if not sent or not hmac.compare_digest(sent, user.csrf_token):
        raise HTTPException(403, "missing or wrong CSRF token: reload the page and try again")
    return user


def _acting(user: Annotated[SignedIn, Depends(_csrf_checked)]) -> SignedIn:
    if not user.acts_on_incidents:
        raise HTTPException(403, "grid workers act on their incidents from the phone app")
    return user


def _as_worker(user: Annotated[SignedIn, Depends(_csrf_checked)]) -> SignedIn:
    if user.role is not Role.WORKER or not user.worker_id:
        raise HTTPException(403, "only the incident's grid worker accepts and resolves it")
    return user


def _admin(user: Annotated[SignedIn, Depends(_signed_in)]) -> SignedIn:
    if user.role is not Role.ADMIN:
        raise HTTPException(403, "administrators only")
    return user


# For reads: any signed-in user. For state changes: the CSRF token checked too.
Reader = Annotated[SignedIn, Depends(_signed_in)]
Changer = Annotated[SignedIn, Depends(_csrf_checked)]
Actor = Annotated[SignedIn, Depends(_acting)]  # a state change on incidents, by a leader, centre or admin
WorkerActor = Annotated[SignedIn, Depends(_as_worker)]  # a grid worker's accept or resolve of their own incident
Admin = Annotated[SignedIn, Depends(_admin)]

"""Sign-in and sign-out. A failed sign-in says only that it failed (never which half was wrong);
too many failures for one name or from one address are refused for a while (`throttle`); every
attempt is audited. The sign-in form carries its own CSRF token (a cookie and a field that must
match), so even the sign-in cannot be forged from another site."""

from __future__ import annotations

import hmac
import secrets
import time
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from aibrain.web.signed_in import CSRF_FIELD, SESSION_COOKIE, Changer
from aibrain.web.workbench import Workbench, workbench
from routing.access import audit
from routing.access.accounts import authenticate
from routing.access.web_sessions import close_session, open_session

LOGIN_CSRF_COOKIE = "aibrain_login_csrf"

router = APIRouter()
Bench = Annotated[Workbench, Depends(workbench)]


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path of this site only (no open redirect to another host).

    >>> safe_next("/incidents?status=dispatched"), safe_next("//evil.example/x"), safe_next("https://x")
    ('/incidents?status=dispatched', '/', '/')
    """
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    return target


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def secure_cookies(bench: Workbench, request: Request) -> bool:
    return bench.settings.secure_cookies or request.url.scheme == "https"


@router.get("/login", include_in_schema=False)
def login_page(request: Request, bench: Bench, next: str = "/", error: str | None = None) -> Response:  # noqa: A002
    token = secrets.token_urlsafe(32)
    response = bench.page(request, "login.html.j2", {"next": safe_next(next), "error": error, "csrf_token": token,
                                                     "csrf_field": CSRF_FIELD, "user": None},
                          status_code=401 if error else 200)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict",
                        secure=secure_cookies(bench, request), path="/login")
    return response


@router.post("/login", include_in_schema=False)
def login(request: Request, bench: Bench, username: Annotated[str, Form(max_length=64)],
          password: Annotated[str, Form(max_length=1024)], csrf_token: Annotated[str, Form()] = "",
          next: Annotated[str, Form()] = "/") -> Response:  # noqa: A002
    address = client_address(request)
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(csrf_token, expected):
        return login_page(request, bench, next, "the sign-in form expired; please try again")
    wait_s = bench.throttle.locked_for(username, address, time.monotonic())
    now = bench.clock()
    if wait_s > 0:
        with bench.sessions() as session, session.begin():
            audit.record(session, now, username, "login_throttled", f"user:{username}", address=address)
        return login_page(request, bench, next, f"too many failed sign-ins; try again in {wait_s:.0f} s")
    with bench.sessions() as session, session.begin():
        user = authenticate(session, username, password, now)
        if user is None:
            audit.record(session, now, username, "login_failed", f"user:{username}", address=address)
        else:
            token, _csrf = open_session(session, user, now, address)
            audit.record(session, now, user.username, "login", f"user:{user.username}", address=address)
    if user is None:
        bench.throttle.failed(username, address, time.monotonic())
        return login_page(request, bench, next, "wrong user name or password")
    bench.throttle.succeeded(username)
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax", secure=secure_cookies(bench, request),
                        max_age=int(bench.settings.session_max_h * 3600))
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout", include_in_schema=False)
def logout(request: Request, bench: Bench, user: Changer) -> Response:
    with bench.sessions() as session, session.begin():
        close_session(session, request.cookies.get(SESSION_COOKIE, ""))
        audit.record(session, bench.clock(), user.username, "logout", user.actor, address=client_address(request))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response

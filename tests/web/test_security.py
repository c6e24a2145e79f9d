"""The workbench's security, route by route: every route the app defines (enumerated from the app,
so a route added later is covered without editing this file) refuses anonymous requests, every
state change refuses a request without its CSRF token, a worker reaches only their own incidents,
sessions expire and end, sign-in is throttled, and no camera URL ever reaches a browser."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from datetime import timedelta

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select
from starlette.routing import BaseRoute, Mount

from aibrain.web.app import API_PREFIXES, create_app
from aibrain.web.signed_in import SESSION_COOKIE
from aibrain.web.workbench import Workbench
from routing.access.access_tables import AuditEntry
from routing.access.accounts import disable_user
from routing.incidents.tables import Incident
from tests.web.workbench_client import PASSWORD, add_person, dispatch_incident, http_client, sign_in

# Everything else needs a session. /m only sends the browser on to /m/, which asks for one; a browser fetches
# the phone app's web manifest without cookies; neither it nor the service worker's script holds anything of a user.
PUBLIC = {("GET", "/login"), ("POST", "/login"), ("GET", "/m"), ("GET", "/m/manifest.webmanifest"),
          ("GET", "/m/sw.js")}
PATH_PARAMETER = re.compile(r"{([^}:]+)(:[^}]+)?}")


def app_routes(bench: Workbench) -> list[tuple[str, str]]:
    """(method, path template) of every route the app defines, static files aside."""
    routes = [(method, route.path) for route in endpoints(create_app(bench).routes) for method in sorted(route.methods)]
    assert len(routes) >= 8, routes  # sign-in, overview, incidents, actions, evidence, events at least
    return routes


def endpoints(routes: Sequence[BaseRoute]) -> Iterator[APIRoute]:
    """The app's routes, through included routers (FastAPI wraps them; their router is `original_router`)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif (included := getattr(route, "original_router", None)) is not None:
            yield from endpoints(included.routes)
        else:  # only the static files may be served by anything but an API route
            assert isinstance(route, Mount) and route.path == "/static", route


def filled(path: str, incident_id: str) -> str:
    return PATH_PARAMETER.sub(lambda m: incident_id if "incident" in m.group(1) else "x", path)


def test_every_route_refuses_an_anonymous_request(bench: Workbench) -> None:
    incident_id = dispatch_incident(bench)
    with http_client(bench) as client:
        for method, path in app_routes(bench):
            if (method, path) in PUBLIC:
                continue
            response = client.request(method, filled(path, incident_id), follow_redirects=False)
            if method == "GET" and not path.startswith(API_PREFIXES):
                assert response.status_code == 303, (method, path, response.status_code)
                assert response.headers["location"].startswith("/login?next="), (method, path)
            else:
                assert response.status_code == 401, (method, path, response.status_code, response.text[:200])
            assert incident_id not in response.text or response.status_code == 303


def test_every_state_change_refuses_a_request_without_its_csrf_token(bench: Workbench) -> None:
    add_person(bench, "centre", "centre", "district")
    incident_id = dispatch_incident(bench)
    with bench.sessions() as session:
        before = session.get(Incident, incident_id)
        assert before is not None
        status_before = before.status
    with http_client(bench) as client:
        token = sign_in(client, "centre")
        changes = [(method, path) for method, path in app_routes(bench)
                   if method not in ("GET", "HEAD") and (method, path) not in PUBLIC]
        assert any("/incidents/" in path for _m, path in changes), changes
        for method, path in changes:
            form = {"worker_id": "w-002", "minutes": "30", "reason": "forged", "note": "forged"}
            for attempt in ({}, {"csrf_token": "not-" + token}):
                response = client.request(method, filled(path, incident_id), data=form | attempt,
                                          follow_redirects=False)
                assert response.status_code == 403, (method, path, attempt, response.status_code)
    with bench.sessions() as session:
        after = session.get(Incident, incident_id)
        assert after is not None and after.status == status_before and after.worker_id == "w-001"


def test_a_worker_reaches_only_their_own_incidents(bench: Workbench) -> None:
    add_person(bench, "zhangwei", "worker", "grid:G-01", worker_id="w-001")
    own = dispatch_incident(bench, "cam-01")
    other = dispatch_incident(bench, "cam-02")  # w-002's, in G-02
    with http_client(bench) as client:
        token = sign_in(client, "zhangwei")
        assert client.get(f"/incidents/{own}").status_code == 200
        listing = client.get("/incidents").text
        assert own in listing and other not in listing
        for method, path in app_routes(bench):
            if "{incident_id}" not in path:
                continue
            response = client.request(method, filled(path, other), data={"csrf_token": token, "reason": "other",
                                                                           "text": "x", "minutes": "10",
                                                                           "worker_id": "w-001"},
                                      headers={"Idempotency-Key": f"forged-{method}-{len(path)}"},  # the phone API's
                                      follow_redirects=False)
            assert response.status_code in (403, 404), (method, path, response.status_code)
            assert "金陵东路口" not in response.text  # nothing of the other incident leaks
    with bench.sessions() as session:
        untouched = session.get(Incident, other)
        assert untouched is not None and untouched.worker_id == "w-002"


@pytest.mark.parametrize("path", ["/evidence/..%2F..%2Fsite.yaml", "/evidence/../../site.yaml",
                                  "/evidence/%2e%2e/%2e%2e/site.yaml", "/evidence/..\\..\\site.yaml"])
def test_parent_folders_in_evidence_urls_are_refused(bench: Workbench, path: str) -> None:
    add_person(bench, "centre", "centre", "district")
    with http_client(bench) as client:
        sign_in(client, "centre")
        response = client.get(path, follow_redirects=False)
        assert response.status_code in (400, 404), response.status_code
        assert "database" not in response.text and "cameras" not in response.text


def test_sign_in_is_throttled_per_user_and_address(bench: Workbench) -> None:
    add_person(bench, "centre", "centre", "district")
    add_person(bench, "other", "centre", "district")
    with http_client(bench) as client:
        for _ in range(bench.throttle.max_failures):
            response = attempt(client, "centre", "wrong password!")
            assert response.status_code == 401 and "wrong user name or password" in response.text
        # Locked now: even the right password is refused, and says why.
        refused = attempt(client, "centre", PASSWORD)
        assert refused.status_code == 401 and "too many failed sign-ins" in refused.text
        assert SESSION_COOKIE not in client.cookies
        # The address is locked too: guessing another name from it is refused.
        assert "too many failed sign-ins" in attempt(client, "other", PASSWORD).text
    with bench.sessions() as session:
        actions = [row.action for row in session.scalars(select(AuditEntry).where(AuditEntry.username == "centre"))]
    assert actions.count("login_failed") == bench.throttle.max_failures and "login_throttled" in actions


def test_another_address_and_user_are_not_locked_out(bench: Workbench) -> None:
    add_person(bench, "centre", "centre", "district")
    with http_client(bench) as client:
        for _ in range(bench.throttle.max_failures - 1):
            attempt(client, "centre", "wrong password!")
        assert attempt(client, "centre", PASSWORD).status_code == 303  # under the limit: signs in


def attempt(client: TestClient, username: str, password: str):  # -> httpx.Response
    form = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token.group(1)},
                       follow_redirects=False)


def test_the_session_cookie_is_httponly_and_samesite(bench: Workbench) -> None:
    add_person(bench, "centre", "centre", "district")
    with http_client(bench) as client:
        form = client.get("/login").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', form)
        assert token
        response = client.post("/login", data={"username": "centre", "password": PASSWORD,
                                               "csrf_token": token.group(1)}, follow_redirects=False)
        cookie = next(value for value in response.headers.get_list("set-cookie")
                      if value.startswith(SESSION_COOKIE + "="))
        assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
        assert "secure" not in cookie.lower().replace("samesite", "")  # plain http in this test
        page = client.get("/")
        assert page.headers["content-security-policy"].startswith("default-src 'self'")
        assert page.headers["x-frame-options"] == "DENY" and page.headers["cache-control"] == "no-store"


def test_sessions_end_when_idle_too_long_and_when_the_user_is_disabled(bench: Workbench) -> None:
    add_person(bench, "centre", "centre", "district")
    real_clock = bench.clock
    with http_client(bench) as client:
        sign_in(client, "centre")
        assert client.get("/", follow_redirects=False).status_code == 200
        bench.clock = lambda: real_clock() + timedelta(minutes=bench.settings.session_idle_min + 1)
        assert client.get("/", follow_redirects=False).status_code == 303
        bench.clock = real_clock
        assert client.get("/", follow_redirects=False).status_code == 303  # the expired session is gone for good
        sign_in(client, "centre")
        with bench.sessions() as session, session.begin():
            disable_user(session, "centre", bench.clock())
        assert client.get("/", follow_redirects=False).status_code == 303


def test_sign_out_ends_the_session(bench: Workbench) -> None:
    add_person(bench, "centre", "centre", "district")
    with http_client(bench) as client:
        token = sign_in(client, "centre")
        old_cookie = client.cookies[SESSION_COOKIE]
        assert client.post("/logout", data={"csrf_token": token}, follow_redirects=False).status_code == 303
        client.cookies.set(SESSION_COOKIE, old_cookie)  # a stolen copy of the cookie no longer works
        assert client.get("/", follow_redirects=False).status_code == 303


def test_no_camera_url_or_credential_reaches_a_browser(bench: Workbench) -> None:
    add_person(bench, "centre", "centre", "district")
    incident_id = dispatch_incident(bench)
    secret_urls = [camera.url.get_secret_value() for camera in bench.site.config.cameras]
    with http_client(bench) as client:
        sign_in(client, "centre")
        for method, path in app_routes(bench):
            if method != "GET" or path.startswith("/events"):
                continue
            body = client.get(filled(path, incident_id)).text
            for url in secret_urls:
                assert url not in body, path
            assert "S3cret-Pw" not in body and "192.0.2.10" not in body, path
            assert str(bench.site.file.parent) not in body, path  # no server paths either

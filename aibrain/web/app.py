"""The workbench's FastAPI application: routes, static files, security headers, and what an
anonymous request gets (pages: the sign-in page; the API and the live feed: 401)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from aibrain.web import (
    assessment_page,
    cameras,
    events,
    evidence_pictures,
    extension_decisions,
    incidents,
    login,
    overview,
    phone_api,
    phone_pages,
    photos,
    worker_record,
)
from aibrain.web.body_limit import BodyLimit
from aibrain.web.signed_in import NotSignedIn
from aibrain.web.workbench import STATIC_DIR, Workbench

# Scripts and styles only from this server (no CDN, no inline script); ECharts sets element styles from script.
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                           "img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; object-src 'none'; "
                           "frame-ancestors 'none'; base-uri 'self'; form-action 'self'")
SECURITY_HEADERS = {"Content-Security-Policy": CONTENT_SECURITY_POLICY, "X-Content-Type-Options": "nosniff",
                    "Referrer-Policy": "same-origin", "X-Frame-Options": "DENY"}
API_PREFIXES = ("/api/", "/events", "/m/api/")


def create_app(bench: Workbench) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        polling = asyncio.create_task(bench.feed.run(), name="live-feed")
        try:
            yield
        finally:
            polling.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await polling

    app = FastAPI(title="AI Brain workbench", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.workbench = bench
    app.add_middleware(BodyLimit)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for module in ROUTE_MODULES:
        app.include_router(module.router)

    @app.exception_handler(NotSignedIn)
    async def not_signed_in(request: Request, _exc: NotSignedIn) -> Response:
        if request.url.path.startswith(API_PREFIXES) or request.method != "GET":
            return JSONResponse({"detail": "sign in first"}, status_code=401)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        response.headers.update(SECURITY_HEADERS)
        if not request.url.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")  # pages hold what only this user may see
        return response

    return app


ROUTE_MODULES = [login, overview, incidents, extension_decisions, evidence_pictures, photos, events, cameras,
                 assessment_page, phone_pages, phone_api, worker_record]

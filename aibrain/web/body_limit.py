"""A cap on request bodies, checked before anything reads them: the multipart parser spools a whole
upload to disk before a route sees it, so without this a phone (or anyone signed in) could fill the
disk with one request. Browsers send a Content-Length with form and fetch bodies; a chunked body
(no length up front) or a longer one is refused. The HTTP parser never reads past Content-Length."""

from __future__ import annotations

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

# Three photos of 10 MB each (aibrain.web.photo_intake) and the form around them.
MAX_BODY_BYTES = 32 * 1024 * 1024
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class BodyLimit:
    """ASGI middleware: 411 for a chunked body, 413 above `limit` bytes."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        if b"transfer-encoding" in headers:
            await JSONResponse({"detail": "请求缺少长度 / a Content-Length is required"}, 411)(scope, receive, send)
            return
        if int(headers.get(b"content-length", b"0") or b"0") > self.limit:
            await JSONResponse({"detail": f"请求过大 / the request exceeds {self.limit // (1024 * 1024)} MB",
                                "code": "too_large"}, 413)(scope, receive, send)
            return
        await self.app(scope, receive, send)

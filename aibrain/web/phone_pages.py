"""The grid worker's phone app (/m/): the installable page shell, its service worker and web manifest.

The shell is one small page; static/phone/*.js draws the inbox, the incident and the record from
the JSON API (phone_api.py, worker_record.py) and keeps actions taken offline until they are sent.
The service worker is served from /m/ (not /static/) so that its scope covers the app."""

from __future__ import annotations

import functools
import hashlib
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from aibrain.web.signed_in import Reader
from aibrain.web.workbench import STATIC_DIR, Workbench, workbench
from routing.access.roles import Role

PHONE_DIR = STATIC_DIR / "phone"
THEME_COLOUR = "#0f2447"
VERSION_LINE = "const VERSION = 'dev';"  # in sw.js: replaced by the shell's content hash as it is served

router = APIRouter()
Bench = Annotated[Workbench, Depends(workbench)]


def web_manifest() -> dict[str, Any]:
    """What the phone's browser needs to install the app on the home screen."""
    icons = [{"src": f"/static/phone/icon-{size}.png", "sizes": f"{size}x{size}", "type": "image/png",
              "purpose": "any"} for size in (192, 512)]
    icons += [{"src": f"/static/phone/icon-maskable-{size}.png", "sizes": f"{size}x{size}", "type": "image/png",
               "purpose": "maskable"} for size in (192, 512)]
    return {"name": "AI Brain 网格员", "short_name": "网格员", "description": "网格员处置事件 Grid worker's incidents",
            "lang": "zh-CN", "id": "/m/", "start_url": "/m/", "scope": "/m/", "display": "standalone",
            "orientation": "portrait", "background_color": THEME_COLOUR, "theme_color": THEME_COLOUR, "icons": icons}


@router.get("/m", include_in_schema=False)
def phone_root() -> Response:
    return RedirectResponse("/m/", status_code=303)


@router.get("/m/", include_in_schema=False)
def phone_app(request: Request, bench: Bench, user: Reader) -> Response:
    is_worker = user.role is Role.WORKER and bool(user.worker_id)
    return bench.page(request, "phone.html.j2", {"user": user, "is_worker": is_worker, "theme": THEME_COLOUR},
                      status_code=200 if is_worker else 403)


@functools.cache
def service_worker_source() -> str:
    """sw.js with its cache version set to a hash of the files it keeps: any change to the app's scripts,
    styles or icons makes a new worker, which fetches them afresh and drops the old cache."""
    digest = hashlib.sha256()
    for path in [*sorted(PHONE_DIR.iterdir()), STATIC_DIR / "live.js"]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    source = (PHONE_DIR / "sw.js").read_text(encoding="utf-8")
    return source.replace(VERSION_LINE, f"const VERSION = '{digest.hexdigest()[:16]}';", 1)


@router.get("/m/sw.js", include_in_schema=False)
def service_worker() -> Response:
    # no-cache: the browser checks for a new worker on every visit instead of keeping an old one a day.
    return Response(service_worker_source(), media_type="application/javascript",
                    headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/m/"})


@router.get("/m/manifest.webmanifest", include_in_schema=False)
def manifest() -> Response:
    return JSONResponse(web_manifest(), media_type="application/manifest+json", headers={"Cache-Control": "no-cache"})

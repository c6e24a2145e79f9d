"""What every page of the workbench shares: the site, the database, the organisation, the
closed-loop actions, the live feed, the templates and the clock — built once per process."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session, sessionmaker

from aibrain import assemble
from aibrain.web.live_feed import LiveFeed
from aibrain.web.throttle import LoginThrottle
from common.clock import utc_now
from configs.load import Site
from configs.schema import WebConfig
from routing.assign.organisation import Organisation
from routing.incidents.closed_loop import ClosedLoop
from routing.incidents.extension_requests import ExtensionRequests
from routing.incidents.field_work import FieldWork
from routing.incidents.interventions import Interventions

PACKAGE_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = PACKAGE_DIR / "templates"
STATIC_DIR = PACKAGE_DIR / "static"


def page_templates() -> Jinja2Templates:
    # Autoescape every template whatever its file name: names and notes come from site files and people.
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES_DIR), autoescape=True, auto_reload=False,
                                     undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    return Jinja2Templates(env=environment)


@dataclass
class Workbench:
    site: Site
    sessions: sessionmaker[Session]
    organisation: Organisation
    settings: WebConfig
    interventions: Interventions
    loop: ClosedLoop  # a worker's own accept and resolve
    field_work: FieldWork  # the phone app's actions: accept, resolve with photos, false alarm
    extension_requests: ExtensionRequests  # asked by a worker, approved or refused by a leader
    feed: LiveFeed
    # Called after a resolve commits: inside `aibrain run`, the camera looks again at once (else it
    # finds the incident on its next round).
    after_resolve: Callable[[], None] = lambda: None
    throttle: LoginThrottle = field(default_factory=LoginThrottle)
    templates: Jinja2Templates = field(default_factory=page_templates)
    clock: Callable[[], datetime] = utc_now

    @classmethod
    def build(cls, site: Site, sessions: sessionmaker[Session] | None = None,
              clock: Callable[[], datetime] = utc_now, after_resolve: Callable[[], None] = lambda: None) -> Workbench:
        sessions = sessions or assemble.sessions(site.database_url())
        loop, interventions = assemble.closed_loop(site), assemble.interventions(site)
        return cls(site=site, sessions=sessions, organisation=site.organisation(),
                   settings=site.config.web or WebConfig(), interventions=interventions, loop=loop,
                   field_work=FieldWork(loop), extension_requests=ExtensionRequests(loop, interventions),
                   feed=LiveFeed(sessions), after_resolve=after_resolve, clock=clock)

    def page(self, request: Request, template: str, context: dict[str, Any], status_code: int = 200) -> Any:
        return self.templates.TemplateResponse(request, template, context, status_code=status_code)


def workbench(request: Request) -> Workbench:
    """FastAPI dependency: the app's Workbench."""
    bench: Workbench = request.app.state.workbench
    return bench

"""The metrics port of `aibrain run`: /metrics (Prometheus), /healthz and /readyz.

- /healthz: 200 while every role thread is alive (or finished by itself, like a file camera at
  its end); 503 while one waits for its restart after a crash, or once the supervisor gave up.
  For a liveness probe: the process is worth keeping.
- /readyz: 200 when the database answers and at least one camera delivers pictures (ONLINE);
  503 otherwise. At least one, not all: a node with a thousand cameras does useful work while a
  few of them are down, and the per-camera state is in the body and in aibrain_camera_online.

Bodies are JSON. The port is bound before anything else of the run starts, so a port in use
stops the start with a field-named error instead of failing after the cameras started.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterable
from socketserver import ThreadingMixIn
from typing import TYPE_CHECKING, Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app
from sqlalchemy import text

from aibrain.live.metrics import LiveRunCollector, RunView
from common.redact import describe
from configs.load import Site
from configs.problems import ConfigError, ConfigProblem
from streams.health import CameraState

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

Body = tuple[str, dict[str, Any]]  # HTTP status line, JSON body


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # a slow /readyz (database) never holds up /metrics or the shutdown


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        """Scrapes every few seconds would flood the log."""


class StatusServer:
    """Bound and serving on a daemon thread from construction; `attach(run)` once the run exists
    (until then /healthz says starting with 200, /readyz 503, /metrics nothing)."""

    def __init__(self, host: str, port: int) -> None:
        self.registry = CollectorRegistry()
        self._metrics = make_wsgi_app(self.registry)
        self._run: RunView | None = None
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        server_class = type("_Server", (_Server,), {"address_family": family})
        self._server: WSGIServer = make_server(host, port, self._app, server_class=server_class,
                                               handler_class=_QuietHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="status-server", daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def attach(self, run: RunView) -> None:
        self.registry.register(LiveRunCollector(run))
        self._run = run

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _app(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/metrics":
            return self._metrics(environ, start_response)
        if path == "/healthz":
            status, body = self._health()
        elif path == "/readyz":
            status, body = self._readiness()
        else:
            status, body = "404 Not Found", {"error": "not found; try /metrics, /healthz or /readyz"}
        payload = json.dumps(body).encode()
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
        return [payload]

    def _health(self) -> Body:
        run = self._run
        if run is None:
            return "200 OK", {"status": "starting"}
        supervisor = run.supervisor
        roles = {name: state.value for name, state in supervisor.states().items()}
        if supervisor.healthy():
            return "200 OK", {"status": "ok", "roles": roles}
        return "503 Service Unavailable", {"status": "failing", "gave_up": supervisor.gave_up, "roles": roles}

    def _readiness(self) -> Body:
        run = self._run
        if run is None:
            return "503 Service Unavailable", {"ready": False, "reason": "starting"}
        cameras = {reader.settings.camera_id: reader.stats().state for reader in run.readers}
        online = sum(state is CameraState.ONLINE for state in cameras.values())
        database = database_answer(run)
        body = {"ready": online > 0 and database == "ok", "database": database, "cameras_online": online,
                "cameras": {camera: state.value if state else "starting" for camera, state in cameras.items()}}
        return ("200 OK" if body["ready"] else "503 Service Unavailable"), body


def database_answer(run: RunView) -> str:
    """"ok", or why the database does not answer (credentials removed)."""
    try:
        with run.sessions() as session:
            session.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure means not ready; the reason goes in the body
        return describe(exc)
    return "ok"


def open_status_server(site: Site) -> StatusServer | None:
    """The site's metrics port bound and served, or None when it names none; a port that cannot be
    bound is a ConfigError naming the site file's `metrics_port`."""
    port = site.config.metrics_port
    if port is None:
        return None
    host = site.config.metrics_host
    try:
        return StatusServer(host, port)
    except OSError as exc:
        reason = exc.strerror or describe(exc)
        raise ConfigError([ConfigProblem(site.file, "metrics_port",
                                         f"port {port} on {host} cannot be opened ({reason}); "
                                         "is another aibrain run using it?")]) from None

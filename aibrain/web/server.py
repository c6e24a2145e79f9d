"""Serving the workbench: `aibrain web` in the foreground, or beside `aibrain run` on a thread of its
own. The port is bound before anything else starts (a port in use is a problem naming the site's
`web.port`), and the first start on an empty users table creates the first administrator and
prints its password once."""

from __future__ import annotations

import asyncio
import gc
import socket
import threading
from pathlib import Path

import uvicorn

from aibrain.web.app import create_app
from aibrain.web.workbench import Workbench
from common.redact import describe
from common.role import ThreadRole
from configs.problems import ConfigError, ConfigProblem
from routing.access.accounts import FIRST_ADMIN, ensure_first_admin


def bind(site_file: Path, host: str, port: int) -> socket.socket:
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        listener = socket.socket(family, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen(512)
    except OSError as exc:
        reason = exc.strerror or describe(exc)
        raise ConfigError([ConfigProblem(site_file, "web.port", f"port {port} on {host} cannot be opened "
                                         f"({reason}); is another workbench using it?")]) from None
    return listener


def announce(bench: Workbench, host: str, port: int) -> None:
    """Print where to sign in, and the first administrator's password when this start created it."""
    with bench.sessions() as session, session.begin():
        password = ensure_first_admin(session, bench.clock())
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    print(f"workbench: http://{shown_host}:{port}/", flush=True)
    if password is not None:
        # stdout, not the log: the log may be shipped and kept; this is shown once and never stored.
        print(f"first sign-in: user {FIRST_ADMIN!r}, password {password!r} (shown once; change it with "
              f"`aibrain users passwd {FIRST_ADMIN} --config SITE`)", flush=True)


def uvicorn_server(bench: Workbench) -> uvicorn.Server:
    config = uvicorn.Config(create_app(bench), log_level="warning", access_log=False, proxy_headers=False,
                            timeout_graceful_shutdown=5)
    return uvicorn.Server(config)


def serve(bench: Workbench, host: str, port: int) -> int:
    """`aibrain web`: serve until SIGINT/SIGTERM (Uvicorn's own handlers, on the main thread)."""
    listener = bind(bench.site.file, host, port)
    announce(bench, host, port)
    server = uvicorn_server(bench)
    keep_out_of_collections()
    asyncio.run(server.serve(sockets=[listener]))
    return 0


def keep_out_of_collections() -> None:
    """What start-up built (site, mappers, templates, the app) lives as long as the process: frozen, it is
    left out of the collector's full passes, which otherwise stop every thread for 100-200 ms every few
    seconds under load (scripts/bench_web.py: p99 341 ms without, 200 ms with)."""
    gc.collect()
    gc.freeze()


class WebRole(ThreadRole):
    """The workbench inside `aibrain run` (the site's `web:` section): Uvicorn on a thread of its own,
    on a socket bound before the run starts, until the run's stop event is set."""

    thread_name = "web"

    def __init__(self, bench: Workbench, listener: socket.socket, stop: threading.Event) -> None:
        self.bench, self.listener, self._stop = bench, listener, stop

    def run(self) -> None:
        server = uvicorn_server(self.bench)
        keep_out_of_collections()  # the run's roles are built by now: theirs are start-up objects too
        # Off the main thread Uvicorn leaves signal handling to the run.
        asyncio.run(self._serve(server))

    async def _serve(self, server: uvicorn.Server) -> None:
        loop = asyncio.get_running_loop()
        watcher = threading.Thread(target=self._exit_on_stop, args=(server, loop), name="web-stop", daemon=True)
        watcher.start()
        await server.serve(sockets=[self.listener])

    def _exit_on_stop(self, server: uvicorn.Server, loop: asyncio.AbstractEventLoop) -> None:
        self._stop.wait()
        # Live streams never end by themselves: closed first, so the shutdown does not wait them out.
        loop.call_soon_threadsafe(self.bench.feed.close)
        server.should_exit = True

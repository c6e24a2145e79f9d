#!/usr/bin/env python3
"""`aibrain` with a role-thread killer, for scripts/chaos.py and the liveness tests: no fault
injection in production code, only this launcher.

Mechanism (the contract scripts/chaos.py relies on):

1. Start the pipeline through this file instead of `aibrain`, with the same arguments:
       AIBRAIN_CHAOS_KILL_FILE=/tmp/kill.txt .venv/bin/python scripts/lib/chaos_run.py run --config site.yaml
2. To kill a role thread, write its thread name into the kill file (one line; surrounding
   whitespace ignored), then send the process SIGUSR1:
       echo inference > /tmp/kill.txt; kill -USR1 <pid>
   Thread names: `inference`, `routing-intake`, `outbox-relay`, `feedback-consumer`,
   `deadline-watcher`, `verification`, `reader-<camera id>`. Without a kill file (or with an
   empty one) the target is `inference`.
3. The handler raises `RoleKilled` (a BaseException, so no `except Exception` in a role's loop
   swallows it) inside that thread at its next Python instruction: the thread really ends, as
   if its loop had crashed. A thread blocked in a C call (a socket wait, a lock) takes it when
   the call returns; every role's blocking calls have timeouts of a second or so.
4. The launcher logs one WARNING line on logger `chaos` (so the line reads `... WARNING chaos: ...`):
       chaos: killed role thread <name>
   or, when no live thread has that name, `chaos: no live thread named <name>; threads: [...]`.
   The liveness supervisor (aibrain/live/supervisor.py) then logs the death and restarts the role
   within 10 s (`role <name> crashed (RoleKilled)`, then `role <name>: restarting (restart N)`),
   or, when one role crashed more than 5 times within 10 minutes, ends the process with exit
   status 3 (`aibrain.live.supervisor.EXIT_ROLE_FAILED`). Stop signalling once the process logs
   `giving up`: an exiting interpreter restores SIGUSR1's default action, which kills it.

Everything else (exit codes, signals SIGINT/SIGTERM, logs) is exactly `aibrain`'s.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import sys
import threading
from pathlib import Path

KILL_FILE_VARIABLE = "AIBRAIN_CHAOS_KILL_FILE"
DEFAULT_TARGET = "inference"

log = logging.getLogger("chaos")


class RoleKilled(BaseException):
    """Raised inside a role's thread by the chaos launcher."""


def raise_in_thread(thread: threading.Thread, exc_type: type[BaseException] = RoleKilled) -> bool:
    """Make `thread` raise `exc_type` at its next Python instruction; False if it is not running."""
    if thread.ident is None or not thread.is_alive():
        return False
    hit = ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread.ident), ctypes.py_object(exc_type))
    return bool(hit == 1)


def kill_role_thread(name: str) -> bool:
    """Kill the live thread named `name` (the first one, if several); True if one was hit."""
    for thread in threading.enumerate():
        if thread.name == name and raise_in_thread(thread):
            log.warning("killed role thread %s", name)
            return True
    log.warning("no live thread named %s; threads: %s", name, sorted(t.name for t in threading.enumerate()))
    return False


def target_from_file() -> str:
    path = os.environ.get(KILL_FILE_VARIABLE)
    if path:
        try:
            name = Path(path).read_text(encoding="utf-8").strip()
        except OSError:
            name = ""
        if name:
            return name
    return DEFAULT_TARGET


def on_sigusr1(_number: int, _frame: object) -> None:
    kill_role_thread(target_from_file())


def main() -> int:
    from aibrain.cli import main as aibrain_main

    signal.signal(signal.SIGUSR1, on_sigusr1)
    return aibrain_main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())

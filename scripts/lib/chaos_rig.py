"""What a chaos run plays with: its own broker, database and cameras, and `aibrain run` itself.

The pipeline runs through scripts/lib/chaos_run.py (`aibrain` plus a SIGUSR1 role-thread killer),
with one log file across all its starts, so every `violation <id> confirmed` line is kept.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from routing.incidents.database import make_engine, session_factory
from routing.incidents.spool import Spool
from routing.incidents.store import pending_count

from .chaos_run import KILL_FILE_VARIABLE
from .private_services import PrivatePostgres, PrivateRabbitMQ
from .rtsp_camera import RtspServer

LAUNCHER = Path(__file__).resolve().parent / "chaos_run.py"
STOP_TIMEOUT_S = 90.0  # `aibrain run` joins each role for up to 15 s
RESTART_PAUSE_S = 5.0  # between starts of a run that keeps exiting on its own
DRAIN_TIMEOUT_S = 180.0
READY_LINE = b"aibrain.live.live_run: running "  # logged once the roles have started
SETTLE_S = 10.0  # after the cameras stop: violations in flight reach the intake and the outbox


@dataclass
class PipelineProcess:
    """`aibrain run --config site` through the chaos launcher, started again as often as needed."""

    site: Path
    log_path: Path
    kill_file: Path
    spool: Spool  # the intake's: what a stop with the database away left for the next start
    starts: int = 0
    exits: list[int | None] = field(default_factory=list)  # exit codes after our SIGTERM (None: killed)
    unexpected_exits: list[int] = field(default_factory=list)  # exits nobody asked for
    _proc: subprocess.Popen[bytes] | None = None
    _last_start: float = float("-inf")
    _log_at_start: int = 0  # the log's size when the current process started

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        self._log_at_start = self.log_path.stat().st_size if self.log_path.exists() else 0
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                [sys.executable, str(LAUNCHER), "run", "--config", str(self.site)], stdout=log,
                stderr=subprocess.STDOUT, cwd=self.site.parent, start_new_session=True,
                env=os.environ | {KILL_FILE_VARIABLE: str(self.kill_file), "PYTHONUNBUFFERED": "1"})
        self.starts += 1
        self._last_start = time.monotonic()

    def exited_on_its_own(self) -> int | None:
        """The exit code if the run ended without being asked to (recorded once), else None."""
        if self._proc is None or self._proc.poll() is None:
            return None
        code, self._proc = self._proc.returncode, None
        self.unexpected_exits.append(code)
        return code

    def may_start_again(self) -> bool:
        return time.monotonic() - self._last_start >= RESTART_PAUSE_S

    def terminate(self) -> int | None:
        """SIGTERM and wait for the exit; its code, or None when it had to be killed."""
        proc, self._proc = self._proc, None
        if proc is None:
            return None
        proc.send_signal(signal.SIGTERM)
        try:
            code: int | None = proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            code = None
        self.exits.append(code)
        return code

    def ready(self) -> bool:
        """Running, and its roles started (its log has the `running N camera(s)` line since this start)."""
        if not self.running:
            return False
        with self.log_path.open("rb") as log:
            log.seek(self._log_at_start)
            return READY_LINE in log.read()

    def kill_thread(self, name: str) -> None:
        """Ask the launcher to kill the role thread `name` (it logs whether one was hit)."""
        assert self._proc is not None, "kill a thread of a running run only"
        self.kill_file.write_text(name, encoding="utf-8")
        self._proc.send_signal(signal.SIGUSR1)


@dataclass
class Rig:
    """The services and cameras of one chaos run, and whether each is up."""

    broker: PrivateRabbitMQ
    database: PrivatePostgres
    cameras: dict[str, RtspServer]
    pipeline: PipelineProcess
    say: Callable[[str], None]
    database_up: bool = True
    run_wanted: bool = True  # False between a restart's SIGTERM and its start

    def stop_broker(self) -> None:
        self.broker.stop()

    def start_broker(self) -> None:
        self.broker.start()

    def stop_database(self) -> None:
        self.database.stop()
        self.database_up = False

    def start_database(self) -> None:
        self.database.start()
        self.database_up = True

    def kill_camera(self, camera: str) -> None:
        self.cameras[camera].kill()

    def start_camera(self, camera: str) -> None:
        self.cameras[camera].start()

    def stop_run(self) -> None:
        self.run_wanted = False
        self.notice_exit()
        if not self.pipeline.running:
            self.say("aibrain run is not running: nothing to stop")
            return
        code = self.pipeline.terminate()
        self.say(f"aibrain run stopped by SIGTERM: exit code {code}" if code is not None
                 else f"aibrain run did not stop within {STOP_TIMEOUT_S:.0f} s of SIGTERM: killed")

    def stop_run_if_running(self) -> None:
        if self.pipeline.running:
            self.stop_run()

    def want_run(self) -> None:
        self.run_wanted = True
        self.keep_running()

    def notice_exit(self) -> None:
        code = self.pipeline.exited_on_its_own()
        if code is not None:
            self.say(f"aibrain run EXITED on its own with code {code}")

    def keep_running(self) -> None:
        """Start the run when it is wanted and not running, once the database is up (it migrates
        at start): after a restart's pause, or after it exited on its own."""
        self.notice_exit()
        if (self.run_wanted and not self.pipeline.running and self.database_up
                and self.pipeline.may_start_again()):
            self.pipeline.start()

    def drain(self) -> int | None:
        """Stop the cameras (no new violations) and keep the run going until its spool is stored
        and the outbox is empty; what is left unsent after DRAIN_TIMEOUT_S (None: the database
        could not be read)."""
        for camera in self.cameras.values():
            camera.stop()
        started = time.monotonic()
        unsent: int | None = None
        while time.monotonic() - started < DRAIN_TIMEOUT_S:
            self.keep_running()
            unsent = unsent_alerts(self.database.url)
            if (unsent == 0 and not self.pipeline.spool.path.exists() and self.pipeline.running
                    and time.monotonic() - started >= SETTLE_S):
                return 0
            time.sleep(1.0)
        return unsent


def unsent_alerts(database_url: str) -> int | None:
    """Outbox rows the broker has not confirmed yet; None while the database cannot be read."""
    engine = make_engine(database_url)
    try:
        with session_factory(engine)() as session:
            return pending_count(session)
    except SQLAlchemyError:
        return None
    finally:
        engine.dispose()

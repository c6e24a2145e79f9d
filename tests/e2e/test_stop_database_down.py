"""End to end: `aibrain run` stopped (SIGTERM) while PostgreSQL is down keeps the violation it could
not store in its spool, exits 0 without a traceback, and the next start stores it exactly once."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from routing.incidents.database import make_engine, session_factory
from routing.incidents.spool import Spool
from routing.incidents.tables import Incident
from tests.e2e.broker import wait_for_queue, wait_until
from tests.e2e.test_rtsp_parking import camera_states, queue_prefix, write_site
from tests.helpers.rtsp import RtspServer
from tests.helpers.services import PrivatePostgres, private_service

pytestmark = [pytest.mark.e2e, pytest.mark.integration]
__all__ = ["queue_prefix"]  # a fixture of this module too

CONFIRMED = re.compile(r"violation (\S+) confirmed: camera cam-01 zone gate-sidewalk kind non_motor_parking")


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    yield from private_service(PrivatePostgres, "a private PostgreSQL cluster")


def start_run(site: Path, log_path: Path) -> subprocess.Popen[bytes]:
    with log_path.open("w") as log_file:
        return subprocess.Popen([sys.executable, "-m", "aibrain", "run", "--config", str(site)],
                                stdout=log_file, stderr=subprocess.STDOUT, env=os.environ | {"PYTHONUNBUFFERED": "1"})


def stop_run(run: subprocess.Popen[bytes], log_path: Path) -> str:
    run.send_signal(signal.SIGTERM)
    assert run.wait(timeout=90) == 0, log_path.read_text()[-3000:]
    return log_path.read_text()


def incident_ids(database: str) -> list[str]:
    engine = make_engine(database)
    try:
        with session_factory(engine)() as session:
            return list(session.scalars(select(Incident.id)))
    finally:
        engine.dispose()


def test_sigterm_with_the_database_down_spools_the_violation_and_the_next_start_stores_it_once(
        tmp_path: Path, private_postgres: PrivatePostgres, clips: dict[str, Path], queue_prefix: str,
        yolo_onnx: Path) -> None:
    database, prefix = private_postgres.url, queue_prefix
    spool = Spool(tmp_path / "spool")  # next to the site's evidence folder
    with RtspServer(clips["bikes"], loop=True) as camera:
        site = write_site(tmp_path, database, camera.url, prefix, yolo_onnx)
        first_log = tmp_path / "first.log"
        run = start_run(site, first_log)
        try:
            wait_for_queue(f"{prefix}.worker.w-001", run, 60)
            wait_until(lambda: "online" in camera_states(database), 60, "the camera online")
            private_postgres.stop()  # before the bike's 10 s dwell is reached
            wait_until(lambda: CONFIRMED.search(first_log.read_text()) is not None, 60, "a violation confirmed")
        finally:
            log = stop_run(run, first_log)
        assert "Traceback" not in log, log[-3000:]
        assert "outbox unsent unknown (database unavailable" in log
        confirmed = set(CONFIRMED.findall(log))
        spooled = spool.load()
        assert confirmed <= {getattr(item, "id", None) for item in spooled}, "every confirmed violation is spooled"

        private_postgres.start()
        second_log = tmp_path / "second.log"
        run = start_run(site, second_log)
        try:
            wait_until(lambda: not spool.path.exists(), 90, "the spool stored and spent")
        finally:
            log = stop_run(run, second_log)
    assert "Traceback" not in log, log[-3000:]
    confirmed |= set(CONFIRMED.findall(log))  # the bike, still parked, may be confirmed anew
    stored = incident_ids(database)
    assert sorted(stored) == sorted(confirmed), "each confirmed violation is exactly one incident"

"""A one-camera site for the closed-loop tests, `aibrain run` on it, and `aibrain worker` for w-001.

The camera shows parked shared bikes (`clips["bikes"]`, see tests/e2e/conftest.py); the pipeline
alerts worker w-001, who accepts and resolves with the `aibrain worker` command.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select

from routing.incidents.database import make_engine, session_factory
from routing.incidents.tables import Incident, IncidentEvent
from tests.conftest import AMQP_URL
from tests.e2e.broker import wait_for_queue
from tests.e2e.site import write_grids
from tests.helpers.rtsp import free_port

GATE_ZONE = [[0.0, 0.5], [1.0, 0.5], [1.0, 1.0], [0.0, 1.0]]
CHAIN = ["leader-g01", "street-centre"]
VERIFICATION = {"look_s": 3, "min_frames": 3, "give_up_s": 60, "retry_s": 30}


class Site:
    """A one-camera site, `aibrain run` on it, and `aibrain worker` for w-001 (as `worker_broker`, a
    URL with the worker's own credentials, when given; else as the site's broker user)."""

    def __init__(self, folder: Path, camera_url: str, model: Path, prefix: str, accept_within_min: float = 30,
                 *, broker: str = AMQP_URL, verification: Mapping[str, float] | None = None) -> None:
        self.folder, self.prefix = folder, prefix
        self.database = f"sqlite:///{folder / 'aibrain.db'}"
        self.worker_broker: str | None = None
        write_grids(folder / "grids.geojson")
        config: dict[str, Any] = {
            "database": self.database, "broker": broker, "queue_prefix": prefix, "evidence_dir": "evidence",
            "model": str(model), "grids": "grids.geojson",
            "workers": [{"id": "w-001", "name": "张伟", "grids": ["G-01", "G-02"], "shifts": ["Mon-Sun 00:00-24:00"]}],
            "cameras": [{"id": "cam-01", "name": "汇丰购物广场东门", "url": camera_url, "detect_fps": 2,
                         "decode": "keyframes", "open_timeout_s": 5, "read_timeout_s": 5, "reconnect_max_s": 2,
                         "zones": [{"name": "gate-sidewalk", "grid": "G-01", "tags": ["no_parking_non_motor"],
                                    "polygon": GATE_ZONE}]}],
            "rules": [{"kind": "non_motor_parking", "zone_tags": ["no_parking_non_motor"], "dwell_s": 6,
                       "accept_within_min": accept_within_min, "resolve_within_min": 60}],
            "escalation": {"grids": {"G-01": CHAIN}, "default": ["street-centre"], "check_every_s": 1},
            "verification": dict(verification or VERIFICATION),
            "metrics_port": free_port(),
        }
        self.metrics_url = f"http://127.0.0.1:{config['metrics_port']}/metrics"
        self.file = folder / "site.yaml"
        self.file.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
        self.inbox = folder / "w-001-inbox.json"

    def worker(self, *command: str, stdin: str | None = None) -> str:
        broker = ["--broker", self.worker_broker] if self.worker_broker else []
        done = subprocess.run([sys.executable, "-m", "aibrain", "worker", "--id", "w-001", "--config", str(self.file),
                               "--inbox", str(self.inbox), *broker, *command], input=stdin, capture_output=True,
                              text=True, timeout=60, env=os.environ | {"COLUMNS": "200"})
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def open_incidents(self) -> dict[str, dict]:
        self.worker("inbox")
        entries = json.loads(self.inbox.read_text(encoding="utf-8"))["entries"]
        return {key: entry for key, entry in entries.items() if entry["status"] != "verified"}

    def incident(self) -> Incident:
        with session_factory(make_engine(self.database))() as session:
            return session.scalars(select(Incident)).one()

    def trail(self) -> list[tuple[str, str]]:
        return [(event.action.value, event.actor) for event in self.events()]

    def events(self) -> list[IncidentEvent]:
        with session_factory(make_engine(self.database))() as session:
            return list(session.scalars(select(IncidentEvent).order_by(IncidentEvent.id)))

    def queue(self, name: str) -> str:
        return f"{self.prefix}.{name}"

    def metrics_text(self) -> str:
        """The Prometheus exposition the run serves."""
        with urllib.request.urlopen(self.metrics_url, timeout=10) as response:
            return str(response.read().decode())

    def metrics(self) -> dict[str, float]:
        """The Prometheus samples the run exposes, by name and labels."""
        return {name: float(value) for name, value in (line.rsplit(" ", 1) for line in self.metrics_text().splitlines()
                                                       if line and not line.startswith("#"))}


def start(site: Site, runs: list[subprocess.Popen]) -> subprocess.Popen:
    """`aibrain run` on the site, logging to aibrain.log, once it has declared the worker's queue."""
    log = (site.folder / "aibrain.log").open("w")
    run = subprocess.Popen([sys.executable, "-m", "aibrain", "run", "--config", str(site.file)], stdout=log,
                           stderr=subprocess.STDOUT, env=os.environ | {"PYTHONUNBUFFERED": "1"})
    runs.append(run)
    wait_for_queue(site.queue("worker.w-001"), run, 60)
    return run

"""scripts/chaos.py: its verdict on made-up evidence, and a short chaos run as a user runs it."""

from __future__ import annotations

import random
import re
import subprocess
import sys
from pathlib import Path

import pytest

from aibrain.assets import PROJECT_ROOT
from routing.broker.topology import Topology
from scripts.lib.chaos_faults import ROLE_THREADS, FaultKind, plan
from scripts.lib.chaos_tally import Alert, confirmed_violations, tally
from scripts.lib.private_services import can_run_private_services
from tests.conftest import unavailable
from tests.helpers.rtsp import require_rtsp_server

CHAOS = PROJECT_ROOT / "scripts" / "chaos.py"
TOPOLOGY = Topology(prefix="chaos", worker_ids=("w-01", "w-02"))
W1, W2, FALLBACK = TOPOLOGY.worker_queue("w-01"), TOPOLOGY.worker_queue("w-02"), TOPOLOGY.fallback_queue
V1, V2, V3 = ("11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222",
              "33333333-3333-4333-8333-333333333333")


def test_a_seed_gives_one_schedule_that_starts_with_every_kind() -> None:
    cameras = ["cam-01", "cam-02"]
    faults = plan(random.Random(7), 600, cameras)
    assert faults == plan(random.Random(7), 600, cameras) != plan(random.Random(8), 600, cameras)
    assert {fault.kind for fault in faults[:5]} == set(FaultKind)
    times = [fault.at_s for fault in faults]
    assert times == sorted(times) and times[0] >= 20 and times[-1] < 600 - 15 and len(faults) > 20
    assert {f.target for f in faults if f.kind is FaultKind.CAMERA} <= set(cameras)
    assert {f.target for f in faults if f.kind is FaultKind.THREAD} <= {*ROLE_THREADS, "reader-cam-01", "reader-cam-02"}


def test_the_intake_lines_are_the_violations() -> None:
    log = (f"2026-11-30 23:07:41,215 INFO    routing.incidents.intake: violation {V1} confirmed: camera cam-01 "
           "zone gate kind non_motor_parking\n"
           f"... routing.incidents.intake: violation {V2} confirmed: camera cam-02 zone back kind non_motor_parking\n"
           f"... routing.incidents.intake: violation {V1} confirmed: camera cam-01 zone gate kind non_motor_parking\n"
           "... aibrain.live.live_run: status: frames detected {}\n")
    assert confirmed_violations(log) == {V1: "cam-01", V2: "cam-02"}


def test_one_incident_and_one_alert_each_is_neither_lost_nor_duplicated() -> None:
    result = tally({V1: "cam-01", V2: "cam-04"}, {V1: "w-01", V2: None},
                   [Alert(W1, "m1", V1), Alert(FALLBACK, "m2", V2), Alert(W1, "m1", V1)], TOPOLOGY)
    assert (result.lost, result.duplicated) == ([], [])
    assert result.redelivered == 1  # the same message id again: at-least-once delivery, not a duplicate
    assert dict(result.alerts) == {W1: 1, FALLBACK: 1}


def test_a_violation_without_incident_or_alert_is_lost() -> None:
    result = tally({V1: "cam-01", V2: "cam-02"}, {V2: "w-02"}, [], TOPOLOGY)
    assert len(result.lost) == 2 and "no incident" in result.lost[0] and f"no alert in {W2}" in result.lost[1]
    assert result.duplicated == []


def test_an_alert_in_another_workers_queue_is_lost_for_its_worker() -> None:
    result = tally({V1: "cam-01"}, {V1: "w-01"}, [Alert(W2, "m1", V1)], TOPOLOGY)
    assert result.lost == [f"violation {V1} (camera cam-01): no alert in {W1}, one in {W2}"]
    assert result.duplicated == []


def test_second_alerts_and_unnamed_incidents_are_duplicates() -> None:
    result = tally({V1: "cam-01"}, {V1: "w-01", V3: "w-01"},
                   [Alert(W1, "m1", V1), Alert(W1, "m2", V1), Alert(W2, "m3", "unknown-incident")], TOPOLOGY)
    assert result.lost == []
    assert result.duplicated == [f"violation {V1}: another alert, m2 in {W1}",
                                 f"incident {V3} named by no violation line",
                                 f"alert m3 in {W2} for unknown incident unknown-incident"]


@pytest.mark.e2e
@pytest.mark.integration
def test_a_short_chaos_run_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    require_rtsp_server()
    reason = can_run_private_services()
    if reason:
        unavailable("a private RabbitMQ node and PostgreSQL cluster", RuntimeError(reason))
    # Seed 149: a thread killed, a camera killed, the database stopped and, while it is down, the run
    # stopped with SIGTERM (its unstored violations go to the spool) and started again once it is back.
    run = subprocess.run([sys.executable, str(CHAOS), "--minutes", "1.25", "--seed", "149", "--workdir", str(tmp_path)],
                         capture_output=True, text=True, timeout=600, cwd=tmp_path)
    out = run.stdout
    assert run.returncode == 0, out + run.stderr[-3000:]
    figures = {name: int(value) for name, value in re.findall(r"^(\w[\w ]*): (\d+)", out, re.M)}
    assert figures["violations"] > 0 and figures["violations"] == figures["incidents"], out
    assert figures["alerts"] == figures["violations"], out
    assert (figures["lost"], figures["duplicated"]) == (0, 0), out
    assert figures["faults injected"] == 4, out

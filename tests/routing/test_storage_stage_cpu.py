"""The STORAGE stage of common/stage_cpu.py: the intake's database writes count towards it (what
scripts/bench_capacity.py reports as storage CPU per frame)."""

from __future__ import annotations

import threading

from sqlalchemy.orm import Session, sessionmaker

from common.stage_cpu import STAGE_CPU, Stage
from routing.incidents.intake import RoutingIntake
from tests.routing.helpers import make_dispatcher, make_topology, violation


def test_storing_violations_counts_as_storage_cpu(sessions: sessionmaker[Session]) -> None:
    stop = threading.Event()
    intake = RoutingIntake(make_dispatcher(sessions, make_topology("t")), stop)
    for i in range(20):
        intake.submit(violation(track_id=i))
    before = STAGE_CPU.totals()
    intake.start()
    stop.set()  # what is queued is still stored
    intake.join(60)
    after = STAGE_CPU.totals()
    assert intake.stats.incidents == 20
    assert after[Stage.STORAGE] > before[Stage.STORAGE]

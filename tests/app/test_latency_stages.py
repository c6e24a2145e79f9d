"""The routing stage's latencies: violation handed in -> incident committed (the intake), outbox row
committed -> broker confirm (the relay), on a real database and RabbitMQ."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from common.durations import HistogramSnapshot
from routing.broker.relay import OutboxRelay
from routing.broker.topology import Topology
from routing.incidents.intake import RoutingIntake
from routing.incidents.spool import Spool
from routing.incidents.store import pending_count
from routing.incidents.tables import OutboxMessage
from tests.conftest import AMQP_URL
from tests.routing.conftest import amqp_channel, sessions, topology  # noqa: F401  (fixtures, used below)
from tests.routing.helpers import make_dispatcher, make_topology, violation, wait_until


def in_buckets(snapshot: HistogramSnapshot) -> dict[float, int]:
    """Observations per bucket (not cumulative), by upper bound; +Inf as float('inf')."""
    upper = (*snapshot.bounds, float("inf"))
    cumulative = (*snapshot.cumulative, snapshot.count)
    return {bound: count - before for bound, count, before in zip(upper, cumulative, (0, *cumulative), strict=False)}


def test_the_intake_times_violations_handed_in_and_not_those_read_back_from_the_spool(
        sessions: sessionmaker[Session], tmp_path: Path) -> None:  # noqa: F811
    spool = Spool(tmp_path / "spool")
    spool.save([violation(track_id=1), violation(track_id=2)])  # confirmed by an earlier run
    stop = threading.Event()
    intake = RoutingIntake(make_dispatcher(sessions, make_topology("t")), stop, spool=spool)
    intake.start()
    for track_id in (3, 4, 5):
        intake.submit(violation(track_id=track_id))
    assert wait_until(lambda: intake.stats.incidents == 5)
    stop.set()
    intake.join(10)

    latency = intake.stats.commit_latency.snapshot()
    assert intake.stats.replayed == 2 and latency.count == 3
    assert 0 < latency.sum_s < 60, latency  # ms on a local SQLite file; 60 s would be an outage's
    assert intake._submitted == {}  # nothing left waiting once stored


def test_the_relay_times_each_confirm_from_its_rows_commit(
        sessions: sessionmaker[Session], topology: Topology) -> None:  # noqa: F811
    """Two alerts committed while no relay ran, two minutes ago, then one committed with the relay running:
    the backlog counts in the 60-300 s bucket, the fresh one well under a minute."""
    dispatcher = make_dispatcher(sessions, topology)
    for track_id in (1, 2):
        dispatcher.dispatch(violation(track_id=track_id))
    with sessions.begin() as session:
        for row in session.scalars(select(OutboxMessage)):
            row.created_at -= timedelta(minutes=2)
    stop = threading.Event()
    relay = OutboxRelay(AMQP_URL, sessions, topology, stop, poll_interval_s=0.1)
    thread = relay.start()
    try:
        assert wait_until(lambda: relay.published == 2)
        make_dispatcher(sessions, topology, wake=relay.wake).dispatch(violation(track_id=3))
        assert wait_until(lambda: relay.published == 3)
    finally:
        stop.set()
        thread.join(10)

    with sessions() as session:
        assert pending_count(session) == 0
    buckets = in_buckets(relay.confirm_latency.snapshot())
    assert sum(buckets.values()) == 3 and buckets[300.0] == 2, buckets
    assert sum(count for bound, count in buckets.items() if bound <= 30.0) == 1, buckets

"""SQLite's row locks: pysqlite's default starts no transaction before a SELECT, so `SELECT … FOR
UPDATE` in `session.begin()` locked nothing and the deadline watcher could escalate an incident a
worker was accepting at that moment. Each transaction now takes SQLite's write lock at BEGIN."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session, sessionmaker

from routing.broker.feedback_consumer import FeedbackConsumer
from routing.incidents.database import make_engine, session_factory
from routing.incidents.deadline_watcher import DeadlineWatcher
from routing.incidents.migrate import upgrade_to_head
from routing.incidents.tables import Incident, IncidentAction, IncidentEvent, IncidentStatus
from routing.messages.feedback import Feedback, FeedbackAction
from tests.conftest import AMQP_URL
from tests.routing.helpers import DAYTIME, make_dispatcher, make_loop, make_topology, violation

TOPOLOGY = make_topology("t")
LATE = DAYTIME + timedelta(minutes=30)  # past the accept limit (15 min), not the resolve limit (2 h)
WAIT_S = 30.0  # a bound on a stuck test only; no assertion depends on it


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path / 'aibrain.db'}"
    upgrade_to_head(url)
    engine = make_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()


def test_watcher_waits_for_a_feedback_apply_holding_the_incident(sqlite_engine: Engine) -> None:
    """The consumer has read the overdue incident to accept it and holds its transaction open; the
    watcher must wait for that commit, then see the incident accepted and leave it alone."""
    sessions: sessionmaker[Session] = session_factory(sqlite_engine)
    incident_id = make_dispatcher(sessions, TOPOLOGY).dispatch(violation(confirmed_at=DAYTIME)).incident_id
    loop = make_loop(TOPOLOGY)
    consumer = FeedbackConsumer(AMQP_URL, sessions, loop, TOPOLOGY, threading.Event(), clock=lambda: LATE)
    watcher = DeadlineWatcher(sessions, loop, threading.Event(), clock=lambda: LATE)
    incident_read, release_apply, watcher_blocked = threading.Event(), threading.Event(), threading.Event()
    order: list[str] = []

    def apply() -> None:
        feedback = Feedback(incident_id=incident_id, worker_id="w-day", action=FeedbackAction.ACCEPT, at=LATE)
        consumer._apply(feedback, "feedback-1")
        order.append("apply committed")

    def escalate() -> None:
        watcher.check_once()
        order.append("watcher done")
        watcher_blocked.set()  # finished without ever waiting: the order below shows it

    applier = threading.Thread(target=apply)
    escalator = threading.Thread(target=escalate)

    @event.listens_for(sqlite_engine, "after_cursor_execute")
    def hold_after_reading(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if threading.current_thread() is applier and statement.startswith("SELECT incidents."):
            incident_read.set()
            assert release_apply.wait(WAIT_S)

    @event.listens_for(sqlite_engine, "before_cursor_execute")
    def note_write_lock_wait(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        # The watcher's first statement that needs the write lock the consumer holds: from here
        # on it can only go on once the consumer has committed.
        if threading.current_thread() is escalator and statement.split()[0] in ("BEGIN", "UPDATE", "INSERT"):
            watcher_blocked.set()

    applier.start()
    assert incident_read.wait(WAIT_S)
    escalator.start()
    assert watcher_blocked.wait(WAIT_S)
    release_apply.set()
    applier.join(WAIT_S)
    escalator.join(WAIT_S)

    assert order == ["apply committed", "watcher done"]
    assert watcher.escalations == 0
    with sessions() as session:
        incident = session.get_one(Incident, incident_id)
        actions = list(session.scalars(select(IncidentEvent.action).where(IncidentEvent.incident_id == incident_id)
                                       .order_by(IncidentEvent.id)))
    assert actions == [IncidentAction.DETECT, IncidentAction.DISPATCH, IncidentAction.ACCEPT]
    assert incident.status is IncidentStatus.ACCEPTED and incident.escalation_level == 0

"""A worker id with a dot (`w.001`: check-config accepts it) works end to end through the real
broker, with the users provisioning makes: the worker receives their alert and their feedback
reaches the pipeline and is applied, while their topic permission still allows only their own key."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from aibrain.broker_setup.broker_settings import site_topology, url_as
from aibrain.broker_setup.credentials_file import read_passwords
from aibrain.broker_setup.provision_command import provision_site
from aibrain.worker.client import WorkerClient
from aibrain.worker.inbox import WorkerInbox
from common.schedule import parse_shift
from routing.assign.roster import Roster, Worker
from routing.broker.feedback_consumer import FeedbackConsumer, Outcome
from routing.broker.management_api import ManagementApi
from routing.broker.relay import OutboxRelay
from routing.broker.topology import delete_topology
from routing.incidents.tables import Incident, IncidentStatus
from routing.messages.feedback import FeedbackAction
from tests.broker.conftest import BrokerSite, connect, publish, refusal
from tests.conftest import AMQP_URL
from tests.routing.helpers import SHANGHAI, make_dispatcher, make_loop, migrated_sessions, violation, wait_until

pytestmark = pytest.mark.integration
ACCESS_REFUSED = 403
DOTTED = "w.001"


@pytest.fixture
def sqlite_sessions(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    yield from migrated_sessions(f"sqlite:///{tmp_path / 'aibrain.db'}")


def queue_depth(queue: str) -> int:
    guest = connect(AMQP_URL)
    try:
        return guest.channel().queue_declare(queue, passive=True).method.message_count
    finally:
        guest.close()


def test_a_worker_with_a_dotted_id_gets_alerts_and_their_feedback_is_applied(
        admin_api: ManagementApi, broker_site: BrokerSite, sqlite_sessions: sessionmaker[Session],
        tmp_path: Path) -> None:
    site = broker_site.write({DOTTED: None, "w": None})  # `w`: a worker whose key is a prefix of w.001's
    credentials = broker_site.folder / "workers.txt"
    assert provision_site(site, admin_api, credentials) == 0
    topology = site_topology(site)
    pipeline_url = site.broker_url()
    assert pipeline_url is not None
    user = topology.worker_user(DOTTED)
    worker_url = url_as(pipeline_url, user, read_passwords(credentials)[user])
    roster = Roster([Worker(DOTTED, "王五", ("g-east",), (parse_shift("Mon-Sun 00:00-24:00"),))], SHANGHAI)

    stop = threading.Event()
    relay = OutboxRelay(pipeline_url, sqlite_sessions, topology, stop, poll_interval_s=0.2)
    consumer = FeedbackConsumer(pipeline_url, sqlite_sessions, make_loop(topology), topology, stop)
    relay.start()
    consumer.start()
    try:
        incident_id = make_dispatcher(sqlite_sessions, topology, relay.wake, roster).dispatch(violation()).incident_id
        worker = WorkerClient(worker_url, topology, DOTTED)
        inbox = WorkerInbox.load(tmp_path / "inbox.json")
        assert wait_until(lambda: worker.sync(inbox, idle_s=0.2) > 0 or incident_id in inbox.entries)

        worker.send(incident_id, FeedbackAction.ACCEPT)  # before the fix: unroutable, refused as not delivered
        assert wait_until(lambda: consumer.stats.outcomes[Outcome.APPLIED] == 1)
        with sqlite_sessions() as session:
            incident = session.get(Incident, incident_id)
            assert incident is not None and incident.status is IncidentStatus.ACCEPTED
        assert not consumer.stats.rejected

        # `worker.#` binds every key under `worker.`; the broker still lets w.001 publish only its own,
        # and alerts still go by exact key: none of w.001's reached worker w.
        assert queue_depth(topology.worker_queue("w")) == 0
        as_worker = connect(worker_url)
        try:
            for key in ("worker.w", "worker.w.001.x", "worker"):
                attempt = partial(publish, exchange=topology.feedback_exchange, routing_key=key, user_id=user)
                assert refusal(as_worker, attempt)[0] == ACCESS_REFUSED, key
        finally:
            as_worker.close()
    finally:
        stop.set()
        relay.join(5)
        consumer.join(5)
        guest = connect(AMQP_URL)
        try:
            delete_topology(guest.channel(), topology)  # the site's worker queues are not the fixture's
        finally:
            guest.close()

"""The relay, connected as the site's provisioned pipeline user, against a worker's queue deleted by
hand: its permissions let it recreate the queue; where they no longer do, the row keeps its error."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pika.adapters.blocking_connection import BlockingConnection
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from aibrain.broker_setup.broker_settings import site_topology
from aibrain.broker_setup.provision_command import provision_site
from routing.broker.grants import Permissions, UserGrant, pipeline_grant
from routing.broker.management_api import ManagementApi
from routing.broker.relay import OutboxRelay
from routing.broker.topology import Topology
from routing.incidents.database import make_engine, session_factory
from routing.incidents.migrate import upgrade_to_head
from routing.incidents.store import add_outbox_message
from routing.incidents.tables import OutboxMessage
from tests.broker.conftest import BrokerSite, connect
from tests.conftest import AMQP_URL
from tests.routing.helpers import wait_until


@dataclass
class RunningRelay:
    relay: OutboxRelay
    sessions: sessionmaker[Session]
    topology: Topology
    admin: BlockingConnection  # guest: deletes queues by hand

    def send(self, message_id: str, routing_key: str) -> None:
        with self.sessions() as session, session.begin():
            add_outbox_message(session, message_id=message_id, exchange=self.topology.exchange,
                               routing_key=routing_key, body='{"probe": true}', headers={},
                               created_at=datetime.now(UTC))
        self.relay.wake()

    def row(self, message_id: str) -> OutboxMessage:
        with self.sessions() as session:
            return session.scalars(select(OutboxMessage).where(OutboxMessage.message_id == message_id)).one()

    def depth(self, queue: str) -> int:
        return int(self.admin.channel().queue_declare(queue, passive=True).method.message_count)


@pytest.fixture
def running(admin_api: ManagementApi, broker_site: BrokerSite, tmp_path: Path) -> Iterator[RunningRelay]:
    site = broker_site.write({"w-a": "configured-secret-a"})
    assert provision_site(site, admin_api, None) == 0
    database = f"sqlite:///{tmp_path / 'outbox.db'}"
    upgrade_to_head(database)
    engine = make_engine(database)
    stop = threading.Event()
    topology = site_topology(site)
    relay = OutboxRelay(site.broker_url() or "", session_factory(engine), topology, stop, poll_interval_s=0.1)
    thread = relay.start()
    admin = connect(AMQP_URL)
    try:
        yield RunningRelay(relay, session_factory(engine), topology, admin)
    finally:
        stop.set()
        thread.join(5)
        admin.close()
        engine.dispose()


def test_the_pipeline_user_recreates_a_workers_queue_deleted_by_hand(running: RunningRelay) -> None:
    topology, queue = running.topology, running.topology.worker_queue("w-a")
    running.send("first", topology.worker_routing_key("w-a"))
    assert wait_until(lambda: running.row("first").sent_at is not None)
    running.admin.channel().queue_delete(queue)

    running.send("second", topology.worker_routing_key("w-a"))
    assert wait_until(lambda: running.row("second").sent_at is not None)
    assert running.depth(queue) == 1
    assert running.relay.queues_recreated == 1


def test_a_queue_the_pipeline_may_no_longer_declare_keeps_the_row_unsent_with_its_error(
        running: RunningRelay, admin_api: ManagementApi, broker_site: BrokerSite) -> None:
    topology, queue = running.topology, running.topology.worker_queue("w-a")
    running.send("first", topology.worker_routing_key("w-a"))
    assert wait_until(lambda: running.row("first").sent_at is not None)
    granted = pipeline_grant(topology, broker_site.pipeline_user).permissions
    narrowed = Permissions(configure="^$", write=granted.write, read=granted.read)
    admin_api.grant("/", UserGrant(broker_site.pipeline_user, narrowed))  # by hand, while it runs
    running.admin.channel().queue_delete(queue)

    running.send("refused", topology.worker_routing_key("w-a"))
    running.send("fallback", "unassigned")  # its queue exists: goes, not held back by the refused row
    assert wait_until(lambda: running.row("fallback").sent_at is not None)
    refused = running.row("refused")
    assert refused.sent_at is None, "marked sent while the worker's queue is gone"
    assert refused.last_error and "ACCESS_REFUSED" in refused.last_error, refused.last_error
    assert running.relay.queues_recreated == 0

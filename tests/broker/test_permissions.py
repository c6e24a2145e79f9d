"""What provisioned users may and may not do, tried against the real broker: a worker reads only
their own queue and sends feedback only as themselves; the pipeline does its job and no more."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial

import pytest
from pika.adapters.blocking_connection import BlockingConnection

from aibrain.broker_setup.broker_settings import site_topology, url_as
from aibrain.broker_setup.credentials_file import read_passwords
from aibrain.broker_setup.provision_command import provision_site
from routing.broker.management_api import ManagementApi
from routing.broker.topology import Topology, declare_topology
from tests.broker.conftest import BrokerSite, connect, publish, refusal

ACCESS_REFUSED, PRECONDITION_FAILED = 403, 406


@dataclass
class Provisioned:
    topology: Topology
    pipeline: BlockingConnection
    worker_a: BlockingConnection
    user_a: str
    user_b: str


@pytest.fixture(scope="module")
def provisioned(admin_api: ManagementApi, module_broker_site: BrokerSite) -> Iterator[Provisioned]:
    site = module_broker_site.write({"w-a": None, "w-b": None})
    credentials = module_broker_site.folder / "workers.txt"
    assert provision_site(site, admin_api, credentials) == 0
    topology = site_topology(site)
    broker_url = site.broker_url()
    assert broker_url is not None
    passwords = read_passwords(credentials)
    user_a = topology.worker_user("w-a")
    pipeline, worker_a = connect(broker_url), connect(url_as(broker_url, user_a, passwords[user_a]))
    try:
        yield Provisioned(topology, pipeline, worker_a, user_a, topology.worker_user("w-b"))
    finally:
        for connection in (pipeline, worker_a):
            if connection.is_open:
                connection.close()


def test_worker_cannot_touch_another_workers_queue(provisioned: Provisioned) -> None:
    topo, worker_a = provisioned.topology, provisioned.worker_a
    queue_b = topo.worker_queue("w-b")
    attempts = {
        "consume": lambda ch: ch.basic_consume(queue_b, lambda *_: None),
        "get": lambda ch: ch.basic_get(queue_b),
        "bind": lambda ch: ch.queue_bind(queue_b, topo.exchange, routing_key="worker.w-a"),
        "declare": lambda ch: ch.queue_declare(queue_b, durable=True, arguments=topo.queue_arguments),
        "purge": lambda ch: ch.queue_purge(queue_b),
        "delete": lambda ch: ch.queue_delete(queue_b),
    }
    for what, attempt in attempts.items():
        code, text = refusal(worker_a, attempt)
        assert (code, text.split(" ")[0]) == (ACCESS_REFUSED, "ACCESS_REFUSED"), what


def test_worker_cannot_widen_its_own_access(provisioned: Provisioned) -> None:
    topo, worker_a = provisioned.topology, provisioned.worker_a
    own = topo.worker_queue("w-a")
    attempts = {
        "bind own queue to every alert": lambda ch: ch.queue_bind(own, topo.exchange, routing_key="#"),
        "read the feedback queue": lambda ch: ch.basic_get(topo.feedback_queue),
        "read the command centre": lambda ch: ch.basic_get(topo.command_centre_queue),
        "declare a queue of its own": lambda ch: ch.queue_declare(f"{topo.prefix}.worker.w-a.copy"),
        "delete its own queue": lambda ch: ch.queue_delete(own),
    }
    for what, attempt in attempts.items():
        assert refusal(worker_a, attempt)[0] == ACCESS_REFUSED, what


def test_worker_cannot_publish_alerts_or_use_the_default_exchange(provisioned: Provisioned) -> None:
    topo, worker_a = provisioned.topology, provisioned.worker_a
    assert refusal(worker_a, lambda ch: publish(ch, topo.exchange, "worker.w-b"))[0] == ACCESS_REFUSED
    assert refusal(worker_a, lambda ch: publish(ch, "", topo.worker_queue("w-b")))[0] == ACCESS_REFUSED
    assert refusal(worker_a, lambda ch: publish(ch, topo.dead_letter_exchange, "x"))[0] == ACCESS_REFUSED


def test_worker_receives_its_alerts_and_sends_feedback_as_itself(provisioned: Provisioned) -> None:
    topo = provisioned.topology
    pipeline = provisioned.pipeline.channel()
    pipeline.confirm_delivery()
    publish(pipeline, topo.exchange, topo.worker_routing_key("w-a"))

    worker = provisioned.worker_a.channel()
    worker.confirm_delivery()
    method, _, body = worker.basic_get(topo.worker_queue("w-a"), auto_ack=True)
    assert method is not None and body == b'{"probe": true}'
    publish(worker, topo.feedback_exchange, topo.worker_routing_key("w-a"), user_id=provisioned.user_a)

    method, properties, _ = pipeline.basic_get(topo.feedback_queue, auto_ack=True)
    assert method is not None and properties.user_id == provisioned.user_a


def test_feedback_as_someone_else_is_refused_by_the_broker(provisioned: Provisioned) -> None:
    topo, worker_a = provisioned.topology, provisioned.worker_a
    own_key = topo.worker_routing_key("w-a")
    as_b = refusal(worker_a, lambda ch: publish(ch, topo.feedback_exchange, own_key, user_id=provisioned.user_b))
    assert as_b[0] == PRECONDITION_FAILED and "user_id" in as_b[1]
    # Worker B's routing key: the topic permission refuses it, whatever the user_id.
    for user_id in (provisioned.user_a, provisioned.user_b):
        keyed_b = refusal(worker_a, partial(publish, exchange=topo.feedback_exchange, routing_key="worker.w-b",
                                            user_id=user_id))
        assert keyed_b[0] == ACCESS_REFUSED


def test_pipeline_does_its_job(provisioned: Provisioned) -> None:
    topo = provisioned.topology
    channel = provisioned.pipeline.channel()
    declare_topology(channel, topo)  # again: every declaration and binding is allowed
    channel.confirm_delivery()
    publish(channel, topo.exchange, topo.worker_routing_key("w-b"))
    publish(channel, topo.dead_letter_exchange, "rejected")
    depth = channel.queue_declare(topo.worker_queue("w-b"), passive=True).method.message_count
    assert depth == 1
    tag = channel.basic_consume(topo.feedback_queue, lambda *_: None)
    channel.basic_cancel(tag)


def test_pipeline_cannot_send_feedback_or_use_the_default_exchange(provisioned: Provisioned) -> None:
    topo, pipeline = provisioned.topology, provisioned.pipeline
    assert refusal(pipeline, lambda ch: publish(ch, topo.feedback_exchange, "worker.w-a"))[0] == ACCESS_REFUSED
    assert refusal(pipeline, lambda ch: publish(ch, "", topo.feedback_queue))[0] == ACCESS_REFUSED
    assert refusal(pipeline, lambda ch: publish(ch, "", topo.worker_queue("w-a")))[0] == ACCESS_REFUSED

"""Fixtures for broker security tests: the management API, sites under a unique prefix whose
users and topology are removed afterwards, and AMQP helpers that expect a refusal.

The management API comes from AIBRAIN_TEST_AMQP_ADMIN_URL (default guest on localhost:15672).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import pika
import pika.exceptions
import pytest
import yaml
from pika.adapters.blocking_connection import BlockingChannel, BlockingConnection

from aibrain.broker_setup.broker_settings import url_as
from configs.load import Site, load_site
from routing.broker.admin import BrokerAdminError
from routing.broker.connection import TlsFiles, connection_parameters
from routing.broker.management_api import ManagementApi
from routing.broker.rabbitmqctl import Rabbitmqctl
from routing.broker.topology import Topology, delete_topology
from tests.configs.test_load_site import EXAMPLES, SQUARE
from tests.conftest import AMQP_URL, unavailable

ADMIN_URL = os.environ.get("AIBRAIN_TEST_AMQP_ADMIN_URL", "http://guest:guest@127.0.0.1:15672")
WORKER_IDS = ("w-a", "w-b", "w-c")  # every worker id a test site may use (for the clean-up)


@pytest.fixture(scope="module")
def admin_api() -> ManagementApi:
    api = ManagementApi(ADMIN_URL)
    try:
        api.users()
    except BrokerAdminError as exc:
        unavailable("RabbitMQ management API", exc)
    return api


@dataclass
class BrokerSite:
    """Site files under a unique queue prefix, in `vhost`; its pipeline user is `<prefix>-<pipeline_name>`."""

    folder: Path
    prefix: str
    vhost: str = "/"
    pipeline_name: str = "pipeline"

    @property
    def pipeline_user(self) -> str:
        return f"{self.prefix}-{self.pipeline_name}"

    @property
    def pipeline_password(self) -> str:
        return f"{self.pipeline_name}-secret-{self.prefix}"

    def write(self, workers: dict[str, str | None], *, broker_url: str = AMQP_URL,
              broker_tls: dict[str, str] | None = None) -> Site:
        """A site with these workers (id -> broker_password or None) and the pipeline's user."""
        settings: dict[str, Any] = {
            "broker": in_vhost(url_as(broker_url, self.pipeline_user, self.pipeline_password), self.vhost),
            "queue_prefix": self.prefix,
            "grids": "grids.geojson",
            "workers": [{"id": worker_id, "name": worker_id, "grids": ["G-01", "G-02"],
                         "shifts": ["Mon-Sun 00:00-24:00"]} | ({"broker_password": password} if password else {})
                        for worker_id, password in workers.items()],
            "cameras": [{"id": "cam-01", "name": "东门", "url": "clip.mp4",
                         "zones": [{"name": "gate", "grid": "G-01", "tags": ["t"], "polygon": SQUARE}]}],
            "rules": [{"kind": "non_motor_parking", "zone_tags": ["t"], "dwell_s": 10}],
        }
        if broker_tls is not None:
            settings["broker_tls"] = broker_tls
        (self.folder / "grids.geojson").write_bytes((EXAMPLES / "grids.geojson").read_bytes())
        (self.folder / "clip.mp4").write_bytes(b"\0")
        path = self.folder / "site.yaml"
        path.write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
        return load_site(path)


def in_vhost(url: str, vhost: str) -> str:
    """The AMQP URL with another virtual host."""
    return urlunsplit(urlsplit(url)._replace(path="/" + quote(vhost, safe="")))


def cleanup(api: ManagementApi, broker: BrokerSite) -> None:
    for user in api.users():
        if user.startswith(broker.prefix):
            api.delete_user(user)
    topology = Topology(prefix=broker.prefix, worker_ids=WORKER_IDS, fallback_queue_name=f"{broker.prefix}.unassigned")
    connection = connect(AMQP_URL)
    try:
        delete_topology(connection.channel(), topology)
    finally:
        connection.close()


def make_broker_site(api: ManagementApi, folder: Path) -> Iterator[BrokerSite]:
    broker = BrokerSite(folder, f"t{uuid.uuid4().hex[:10]}")
    try:
        yield broker
    finally:
        cleanup(api, broker)


@pytest.fixture
def broker_site(admin_api: ManagementApi, tmp_path: Path) -> Iterator[BrokerSite]:
    yield from make_broker_site(admin_api, tmp_path)


@pytest.fixture(scope="module")
def module_broker_site(admin_api: ManagementApi, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerSite]:
    yield from make_broker_site(admin_api, tmp_path_factory.mktemp("broker"))


def connect(url: str, tls: TlsFiles | None = None) -> BlockingConnection:
    return pika.BlockingConnection(connection_parameters(url, tls=tls))


def can_log_in(url: str) -> bool:
    try:
        connect(url).close()
    except pika.exceptions.ProbableAuthenticationError:
        return False
    return True


def rabbitmqctl() -> Rabbitmqctl:
    """A working rabbitmqctl: installed, and allowed to talk to the node (its Erlang cookie)."""
    try:
        ctl = Rabbitmqctl()
        ctl.users()
    except BrokerAdminError as exc:
        unavailable("rabbitmqctl", exc)  # skips, or fails under CI
    return ctl


def refusal(connection: BlockingConnection, action: Callable[[BlockingChannel], object]) -> tuple[int, str]:
    """Run `action` on a fresh channel with publisher confirms; the broker must close the channel.
    Returns its reply code and text (403 ACCESS_REFUSED, 406 PRECONDITION_FAILED...)."""
    channel = connection.channel()
    channel.confirm_delivery()
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as closed:
        action(channel)
        channel.basic_qos(prefetch_count=1)  # a round trip, so an asynchronous refusal arrives here
    return closed.value.reply_code, closed.value.reply_text


def publish(channel: BlockingChannel, exchange: str, routing_key: str, *, user_id: str | None = None) -> None:
    channel.basic_publish(exchange, routing_key, b'{"probe": true}',
                          pika.BasicProperties(user_id=user_id, delivery_mode=2, message_id=uuid.uuid4().hex),
                          mandatory=True)

"""Fixtures for routing tests: a migrated database of each backend and a real RabbitMQ channel."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pika
import pytest
from pika.adapters.blocking_connection import BlockingChannel
from sqlalchemy.orm import Session, sessionmaker

from routing.broker.topology import Topology, delete_topology
from tests.conftest import AMQP_URL, unavailable
from tests.routing.helpers import make_topology, migrated_sessions


@pytest.fixture
def sessions(db_url: str) -> Iterator[sessionmaker[Session]]:
    """Sessions on a database migrated to head."""
    yield from migrated_sessions(db_url)


@pytest.fixture
def amqp_channel() -> Iterator[BlockingChannel]:
    """A test-side channel to RabbitMQ, for consuming and cleaning up."""
    params = pika.URLParameters(AMQP_URL)
    params.socket_timeout = 5
    params.connection_attempts = 1
    try:
        connection = pika.BlockingConnection(params)
    except pika.exceptions.AMQPError as exc:
        unavailable("RabbitMQ", exc)
    try:
        yield connection.channel()
    finally:
        connection.close()


@pytest.fixture
def topology(amqp_channel: BlockingChannel) -> Iterator[Topology]:
    """A topology under a unique prefix (so tests never share queues), deleted afterwards."""
    topo = make_topology(f"test-{uuid.uuid4().hex[:10]}")
    try:
        yield topo
    finally:
        delete_topology(amqp_channel, topo)

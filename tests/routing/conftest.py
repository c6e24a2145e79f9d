"""Fixtures for routing tests: real databases (SQLite file, PostgreSQL) and a real RabbitMQ.

PostgreSQL and RabbitMQ come from AIBRAIN_TEST_PG_URL (an admin URL; each test gets its own
database, dropped afterwards) and AIBRAIN_TEST_AMQP_URL. Unreachable services skip the tests
that need them, except under CI (`CI=true`), where they fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pika
import psycopg
import pytest
from pika.adapters.blocking_connection import BlockingChannel
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from routing.db import make_engine, session_factory
from routing.migrate import upgrade_to_head
from routing.topology import Topology, delete_topology

PG_ADMIN_URL = os.environ.get("AIBRAIN_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
AMQP_URL = os.environ.get("AIBRAIN_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")


def unavailable(what: str, exc: Exception) -> None:
    message = f"{what} unavailable: {exc}"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def _admin_conninfo() -> str:
    return make_url(PG_ADMIN_URL).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test."""
    name = f"aibrain_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(_admin_conninfo(), autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        unavailable("PostgreSQL", exc)
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield make_url(PG_ADMIN_URL).set(drivername="postgresql+psycopg", database=name) \
                .render_as_string(hide_password=False)
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """An empty database of each supported backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'aibrain.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def sessions(db_url: str) -> Iterator[sessionmaker[Session]]:
    """Sessions on a database migrated to head."""
    upgrade_to_head(db_url)
    engine = make_engine(db_url)
    try:
        yield session_factory(engine)
    finally:
        engine.dispose()


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
    topo = Topology(prefix=f"test-{uuid.uuid4().hex[:10]}", worker_ids=("w-day", "w-night"))
    try:
        yield topo
    finally:
        delete_topology(amqp_channel, topo)

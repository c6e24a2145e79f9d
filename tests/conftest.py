"""Shared fixtures: real assets (weights, footage) and real services (PostgreSQL, RabbitMQ).

PostgreSQL and RabbitMQ come from AIBRAIN_TEST_PG_URL (an admin URL; each test gets its own
database, dropped afterwards) and AIBRAIN_TEST_AMQP_URL. Unreachable services and missing assets
skip the tests that need them, except under CI (`CI=true`), where they fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from aibrain.assets import MissingAsset, asset


def shared_asset(relative: str) -> Path:
    """A real weight or footage file; under CI a missing one fails the test, elsewhere it skips."""
    try:
        return asset(relative)
    except MissingAsset as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(str(exc))
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def yolo_onnx() -> Path:
    return shared_asset("models/yolov8n_coco_dq.onnx")


@pytest.fixture(scope="session")
def shared_bike_still() -> Path:
    return shared_asset("footage/images/zeyan_sharedbike_main1.jpg")


@pytest.fixture(scope="session")
def pialin_street() -> Path:
    return shared_asset("footage/videos/pialin_street.mp4")


@pytest.fixture(scope="session")
def unbox_1080p() -> Path:
    return shared_asset("footage/videos/dyh_unbox_test.mp4")


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

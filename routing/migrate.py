"""Bring a database's schema up to date from code: `aibrain db upgrade` calls `upgrade_to_head`."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text

from routing.db import make_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Any constant works; it only has to be the same for every node sharing the database.
_PG_LOCK_KEY = 0x41_49_42_52  # "AIBR"


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config for our migrations, without an alembic.ini; `connection` is used as is."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade_to_head(url: str) -> None:
    """Apply every pending migration to `url`; running it again when up to date does nothing.

    On PostgreSQL, nodes starting together serialise on an advisory lock, so only one migrates.
    """
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
            command.upgrade(alembic_config(connection), "head")
    finally:
        engine.dispose()

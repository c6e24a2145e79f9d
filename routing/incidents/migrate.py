"""Bring a database's schema up to date from code: `aibrain db upgrade` calls `upgrade_to_head`."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text

from common.redact import redact_url
from routing.incidents.database import make_engine

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
        with engine.connect() as connection:
            sqlite = connection.dialect.name == "sqlite"
            if sqlite:
                # SQLite alters a table by copying it and dropping the old one; with foreign keys
                # on, that drop would cascade to the rows referring to it (the audit trail). The
                # pragma only takes effect outside a transaction, and every transaction of the
                # engine begins at once (routing.incidents.database), so it goes to the driver's connection.
                connection.connection.cursor().execute("PRAGMA foreign_keys=OFF")
            with connection.begin():
                if connection.dialect.name == "postgresql":
                    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
                command.upgrade(alembic_config(connection), "head")
                if sqlite and connection.exec_driver_sql("PRAGMA foreign_key_check").first() is not None:
                    raise RuntimeError(f"{redact_url(url)}: the migrated database breaks a foreign key")
            if sqlite:
                connection.connection.cursor().execute("PRAGMA foreign_keys=ON")
    finally:
        engine.dispose()

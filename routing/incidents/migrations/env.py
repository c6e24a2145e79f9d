"""Alembic environment, configured from code: `routing.incidents.migrate` passes the connection in.

With the plain `alembic` command line, `-x url=...` (or `sqlalchemy.url`) names the database.
"""

from __future__ import annotations

from alembic import context

import routing.access.access_tables  # noqa: F401, I001 - its tables join Base.metadata
import routing.incidents.field_tables  # noqa: F401, I001 - its tables join Base.metadata
from routing.incidents.database import make_engine
from routing.incidents.tables import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database URL: pass -x url=... or use routing.incidents.migrate.upgrade_to_head(url)")
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
            with context.begin_transaction():
                context.run_migrations()
            conn.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("offline (--sql) migrations are not supported; run against a database")
run_migrations_online()

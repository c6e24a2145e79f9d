"""The export reads the incidents' newest columns (the kept frame, the false alarm's reason): a database
not yet migrated to them is told plainly, not met with SQL's "no such column". The export never
migrates a database itself: it only reads."""

from __future__ import annotations

from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from routing.incidents.migrate import alembic_config


def schema_behind(engine: Engine) -> str | None:
    """None when the database is at the newest revision; else what it is at and what is needed."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    if current == head:
        return None
    return f"its schema is at revision {current or '(none: no tables)'}, the export needs {head}"

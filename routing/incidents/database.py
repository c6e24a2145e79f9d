"""Database engines and sessions: SQLite (WAL) by default, PostgreSQL (psycopg 3) in production."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str, *, busy_timeout_s: float = 30.0, echo: bool = False) -> Engine:
    """An engine for `url`, tuned per backend.

    SQLite: WAL (the detector's writes and the relay's reads do not block each other), foreign
    keys enforced, and a busy timeout so concurrent writers wait instead of failing at once.
    Every transaction starts with `BEGIN IMMEDIATE` (SQLAlchemy's pysqlite recipe; the driver's
    own transaction handling is off): SQLite has no row locks and ignores `FOR UPDATE`, so the
    write lock taken at BEGIN is what keeps a read-then-write (the deadline watcher, a worker's
    feedback) from acting on a row another transaction is changing.
    PostgreSQL: a plain `postgresql://` URL is given the psycopg 3 driver; pool pre-ping so a
    restarted server costs one retry, not an error.

    >>> make_engine("sqlite:///:memory:").dialect.name
    'sqlite'
    """
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        engine = create_engine(parsed, echo=echo, connect_args={"timeout": busy_timeout_s})
        in_memory = parsed.database in (None, "", ":memory:")
        if parsed.database and not in_memory:
            # A first run on the embedded default must not fail on a missing var/ folder.
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        event.listen(engine, "connect", _sqlite_pragmas(busy_timeout_s, wal=not in_memory))
        event.listen(engine, "begin", _begin_immediate)
        return engine
    if backend == "postgresql":
        if parsed.get_driver_name() != "psycopg":
            parsed = parsed.set(drivername="postgresql+psycopg")
        return create_engine(parsed, echo=echo, pool_pre_ping=True)
    raise ValueError(f"unsupported database backend {backend!r}; use sqlite:/// or postgresql+psycopg://")


def _sqlite_pragmas(busy_timeout_s: float, wal: bool) -> Any:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite would BEGIN only before a write, leaving reads (and SELECT ... FOR UPDATE)
        # outside the transaction; SQLAlchemy emits the BEGIN instead (`_begin_immediate`).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            if wal:
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
        finally:
            cursor.close()

    return on_connect


def _begin_immediate(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions bound to `engine`; objects stay readable after commit (results cross threads)."""
    return sessionmaker(engine, expire_on_commit=False)

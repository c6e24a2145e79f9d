"""Which database errors are a message's fault: a value the database refuses, not a database away."""

from __future__ import annotations

from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, SQLAlchemyError, StatementError


def data_refusal(exc: SQLAlchemyError) -> str | None:
    """Why the database refused the values written (one line, no SQL), or None when the error
    says the database is away or in trouble, which waiting may mend.

    Refused as data: the driver's DataError (a value too long, a NUL in text) and IntegrityError
    (a constraint), and a value refused before it was sent (a bind parameter's own check). Every
    other error (connection lost, server down, lock timeout, a missing table) is the database's.

    >>> data_refusal(IntegrityError("INSERT ...", {}, Exception("NOT NULL constraint failed: t.c")))
    'Exception: NOT NULL constraint failed: t.c'
    """
    if isinstance(exc, DBAPIError):
        refused = isinstance(exc, (DataError, IntegrityError)) and not exc.connection_invalidated
    else:
        refused = isinstance(exc, StatementError)
    if not refused:
        return None
    cause = getattr(exc, "orig", None) or exc
    lines = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {lines[0]}" if lines else type(cause).__name__

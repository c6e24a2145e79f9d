"""A database a command cannot reach or open when it starts: one line naming it (credentials
redacted) and exit status 1, instead of SQLAlchemy's traceback."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import InterfaceError, OperationalError

from common.redact import redact_url

EXIT_DATABASE_UNAVAILABLE = 1


@contextmanager
def exit_if_unavailable(url: str) -> Iterator[None]:
    """Around a command's first use of the database at `url`.

    >>> with exit_if_unavailable(site.database_url()):  # doctest: +SKIP
    ...     upgrade_to_head(site.database_url())
    """
    try:
        yield
    except (OperationalError, InterfaceError) as exc:
        reason = " ".join(str(exc.orig or exc).split())  # the driver's own words, on one line
        print(f"error: database {redact_url(url)} is unavailable: {redact_url(reason)}", file=sys.stderr)
        raise SystemExit(EXIT_DATABASE_UNAVAILABLE) from None

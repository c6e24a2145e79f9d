"""The one wall clock: timezone-aware UTC, passed into roles as `clock=` so tests can set the time."""

from datetime import UTC, datetime


def utc_now() -> datetime:
    """Now, in UTC, never naive.

    >>> utc_now().tzinfo is UTC
    True
    """
    return datetime.now(UTC)

"""Credentials are cut out of any text before it reaches a log, an event or a command's output."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError

from common.redact import describe, redact_url


@pytest.mark.parametrize(("text", "redacted"), [
    ("rtsp://admin:secret@10.0.0.7:554/live", "rtsp://***@10.0.0.7:554/live"),
    # An `@` in the password: everything up to the authority's last `@` is user-info.
    ("rtsp://admin:Abc@S3cret@host", "rtsp://***@host"),
    ("rtsp://ad:min:p@ss:w@rd@10.0.0.7:554/x?y=1", "rtsp://***@10.0.0.7:554/x?y=1"),
    ("cannot open rtsp://a:b@c@h/s: refused; retry rtsp://u:v@w@h2", "cannot open rtsp://***@h/s: refused; retry rtsp://***@h2"),
    # Percent-encoded and unencoded `@` alike.
    ("rtsp://admin:p%40ss%3Aw@h/live", "rtsp://***@h/live"),
    ("amqp://guest:g@@e:st@127.0.0.1:5672/%2F", "amqp://***@127.0.0.1:5672/%2F"),
    # The authority ends at the first /, ? or #: an `@` after it is not user-info.
    ("rtsp://host/path@x", "rtsp://host/path@x"),
    ("http://host?mail=a@b", "http://host?mail=a@b"),
    ("rtsp://admin:pw@host/a@b", "rtsp://***@host/a@b"),
    # Quoted, as exceptions' reprs write them.
    ("'rtsp://admin:pw@h@host/x'", "'rtsp://***@host/x'"),
    # A mistyped scheme, or none: still `user:password@`.
    ("rtsp:/admin:pw@host/live", "rtsp:/***@host/live"),
    ("file not found: rtsp:admin:p@w@host", "file not found: ***@host"),
    ("/sites/rtsp:/admin:pw@host is not readable", "/sites/rtsp:/***@host is not readable"),
    ("admin:pw@10.0.0.7", "***@10.0.0.7"),
    # Nothing that looks like credentials is touched.
    ("mail me at ops@example.com, 12:30", "mail me at ops@example.com, 12:30"),
    ("camera cam-01: offline", "camera cam-01: offline"),
])
def test_redact_url_removes_every_credential(text: str, redacted: str) -> None:
    assert redact_url(text) == redacted


def test_a_database_error_is_described_in_one_line_without_its_statement_or_values() -> None:
    """A worker's note or a camera's name in the parameters stays out of the log line."""
    engine = create_engine("sqlite://")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (id TEXT PRIMARY KEY)"))
    try:
        with engine.begin() as connection:
            for _ in range(2):
                connection.execute(text("INSERT INTO t VALUES (:id)"), {"id": "private-note"})
    except IntegrityError as exc:
        line = describe(exc)
    assert line == "IntegrityError: (sqlite3.IntegrityError) UNIQUE constraint failed: t.id"

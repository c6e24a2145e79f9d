"""Logging for the app: one format, and credentials in URLs redacted from every line.

Each stage already redacts the URLs it logs; this formatter is the last line of defence, applied
to the whole formatted line, tracebacks included (library errors may quote a URL).
"""

from __future__ import annotations

import logging
import sys

from common.redact import redact_url


class RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact_url(super().format(record))


def setup_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # pika logs every connection attempt at INFO, with the host: keep its warnings only.
    logging.getLogger("pika").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)

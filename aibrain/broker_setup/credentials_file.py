"""The worker credentials file of `aibrain broker provision`: one amqp URL per worker, mode 0600.

It is read back on the next run, so a worker keeps its generated password (provisioning twice
gives the same result); a worker missing from it gets a new one.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

HEADER = "# AI Brain worker credentials: one AMQP URL per worker. Secret: hand each worker only their line.\n"


def read_passwords(path: Path) -> dict[str, str]:
    """user -> password of every URL in the file; an absent file holds none."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    passwords = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = urlsplit(line)
        if parts.username and parts.password:
            passwords[unquote(parts.username)] = unquote(parts.password)
    return passwords


def write_urls(path: Path, urls: list[str]) -> None:
    """Replace the file in one step, readable by its owner only from the first byte on."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.unlink(missing_ok=True)  # a left-over one may have another mode: O_EXCL creates it afresh
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(HEADER + "".join(f"{url}\n" for url in urls))
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise

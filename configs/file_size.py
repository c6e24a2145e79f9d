"""Caps on the files a site is made of, checked before anything parses them: a file far larger than
any street needs is a mistake (a video or a log named by accident) or an attack, and parsing it
would take seconds and hundreds of MB before saying so.

A camera entry with a few zones is 300-500 bytes of YAML, so 4 MiB holds about 10,000 cameras (a
street has hundreds to a couple of thousand); GeoJSON grid boundaries traced in detail are larger,
so a grids file may hold 32 MiB.
"""

from __future__ import annotations

import stat
from pathlib import Path

MIB = 2**20
MAX_YAML_BYTES = 4 * MIB  # a site file, or a taxonomy file it names
MAX_GRIDS_BYTES = 32 * MIB


class FileTooLarge(ValueError):
    """The file holds more than its cap; the message says how much may be held."""


def read_capped(path: Path, limit: int) -> bytes:
    """The file's bytes; FileTooLarge past `limit` (read no further, whatever the file is: a FIFO,
    a device), OSError as opening and reading raise it."""
    with path.open("rb") as source:
        data = source.read(limit + 1)
    if len(data) > limit:
        raise FileTooLarge(f"the file holds more than {limit // MIB} MiB, the most it may hold")
    return data


def size_problem(path: Path, limit: int) -> str | None:
    """Why the file at `path` cannot be read within `limit`, or None (also when it does not exist:
    reading it says so)."""
    try:
        status = path.stat()
    except (OSError, ValueError):
        return None
    if not stat.S_ISREG(status.st_mode):
        return f"{path} is not a regular file"
    if status.st_size > limit:
        return f"{path} holds more than {limit // MIB} MiB ({status.st_size / MIB:.1f} MiB), the most it may hold"
    return None

"""The folder a script keeps its files in: the user's --workdir, or a temporary one removed after."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path


def in_workdir(workdir: Path | None, prefix: str, body: Callable[[Path], int]) -> int:
    """`body(folder)`'s exit code, run in `workdir` (made if missing, kept after) or, without one, in a
    temporary folder named `prefix…` that is removed when `body` returns."""
    if workdir:
        workdir.mkdir(parents=True, exist_ok=True)
        return body(workdir.resolve())
    with tempfile.TemporaryDirectory(prefix=prefix) as scratch:
        return body(Path(scratch))

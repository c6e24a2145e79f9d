"""Whether a folder the site names can really be written (the evidence folder), by trying."""

from __future__ import annotations

import tempfile
from pathlib import Path

from common.redact import describe


def folder_write_problem(folder: Path) -> str | None:
    """Why files could not be written under `folder`, or None when they can: a real probe (a
    temporary file in the folder, or a temporary folder in its nearest existing parent when it
    does not exist yet), removed again, since permission bits do not stop root."""
    existing = folder
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    try:
        if existing == folder:
            with tempfile.NamedTemporaryFile(dir=folder, prefix=".aibrain-probe-"):
                pass
        else:
            tempfile.TemporaryDirectory(dir=existing, prefix=".aibrain-probe-").cleanup()
    except OSError as exc:
        return f"folder {folder} cannot be written ({describe(exc)})"
    return None

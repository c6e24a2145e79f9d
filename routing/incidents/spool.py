"""The intake's local files: the spool, violations and camera events not yet stored when the process
stopped (the database away), which the next start stores first; and the parked file, items the
database refused as data, kept for a person to look at instead of blocking every camera behind them.

Both are JSON lines, written with fsync, in a folder of their own next to the evidence folder.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from detector.violation import Violation
from streams.health import HealthEvent

log = logging.getLogger(__name__)

SpoolItem = Violation | HealthEvent

# The "type" of a line -> how its "item" is read and written.
_ADAPTERS: dict[str, TypeAdapter[Any]] = {"violation": TypeAdapter(Violation),
                                          "camera_event": TypeAdapter(HealthEvent)}
_TYPES: dict[type, str] = {Violation: "violation", HealthEvent: "camera_event"}


def encode(item: SpoolItem, **extra: str) -> str:
    """One JSON line (no newline) holding `item`, and `extra` fields beside it."""
    kind = _TYPES[type(item)]
    return json.dumps({"type": kind, "item": _ADAPTERS[kind].dump_python(item, mode="json"), **extra},
                      ensure_ascii=False)


def decode(line: str) -> SpoolItem:
    """The item of a line written by `encode`; ValueError when the line is not one."""
    record = json.loads(line)
    kind = record.get("type") if isinstance(record, dict) else None
    adapter = _ADAPTERS.get(kind) if isinstance(kind, str) else None
    if adapter is None:
        raise ValueError(f"not a spool line: type {kind!r}")
    item: SpoolItem = adapter.validate_python(record.get("item"))
    return item


class Spool:
    """`intake.jsonl`: what the intake could not store before it stopped; `parked.jsonl`: what the
    database refused as data. `name` tells shards of one site on one host apart.

    >>> import tempfile
    >>> from streams.health import CameraState
    >>> event = HealthEvent("cam-01", CameraState.OFFLINE, ts=1.0, reason="no picture for 15 s")
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     spool = Spool(Path(folder))
    ...     spool.save([event]), spool.load() == [event]
    (1, True)
    """

    def __init__(self, folder: Path, name: str = "intake") -> None:
        self.folder = folder
        self.path = folder / f"{name}.jsonl"
        self.parked_path = folder / f"{name}.parked.jsonl"

    def load(self) -> list[SpoolItem]:
        """The spooled items, oldest first; a line that cannot be read is parked, not dropped."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        items: list[SpoolItem] = []
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                items.append(decode(line))
            except (ValueError, ValidationError) as exc:
                log.error("%s line %d cannot be read (%s); kept in %s", self.path, number, exc, self.parked_path)
                self._append(self.parked_path, json.dumps({"line": line, "reason": str(exc), "at": _now()}))
        return items

    def save(self, items: Iterable[SpoolItem]) -> int:
        """Replace the spool with `items` (nothing: remove it), atomically; returns how many."""
        lines = [encode(item) for item in items]
        if not lines:
            self.clear()
            return 0
        self.folder.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        with temporary.open("w", encoding="utf-8") as out:
            out.write("\n".join(lines) + "\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, self.path)
        self._sync_folder()
        return len(lines)

    def clear(self) -> None:
        if self.path.exists():
            self.path.unlink()
            self._sync_folder()

    def park(self, item: SpoolItem, reason: str) -> None:
        """Keep an item the database refused, with the reason, at the end of the parked file."""
        self._append(self.parked_path, encode(item, reason=reason, at=_now()))

    def _append(self, path: Path, line: str) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as out:
            out.write(line + "\n")
            out.flush()
            os.fsync(out.fileno())

    def _sync_folder(self) -> None:
        # The rename or unlink itself survives a power cut only once the folder is synced.
        descriptor = os.open(self.folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def _now() -> str:
    return datetime.now(UTC).isoformat()

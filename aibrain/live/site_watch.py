"""When the live run reloads its site file: on SIGHUP, and when the file's content changed."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from pathlib import Path

LOOK_EVERY_S = 2.0


class SiteFileWatch:
    """Asked from the main thread's watch loop (`due()`): a reload is due once SIGHUP asked for one
    (`request`, safe to call from a signal handler), or once the file's content differs from what was
    last read: every `every_s` its modification time and size are looked at, and its content hashed
    when they moved, so a file touched but unchanged reloads nothing. The workbench's zone editor saves
    the file from another process; an editor that writes it in place may be caught half way, which
    is refused like any invalid file and applied at the next look, once the content is whole.

    Only the site file itself is watched: a changed grids or taxonomy file is read on SIGHUP.

    >>> watch = SiteFileWatch(site.file)                   # doctest: +SKIP
    >>> signal.signal(signal.SIGHUP, watch.request)       # doctest: +SKIP
    >>> if (why := watch.due()) is not None: run.reload()  # doctest: +SKIP
    """

    def __init__(self, file: Path, every_s: float = LOOK_EVERY_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.file, self.every_s, self._clock = file, every_s, clock
        self._requested = threading.Event()
        self._stat, self._digest = self._stat_now(), self._digest_now()
        self._next_look = clock() + every_s

    def request(self, *_: object) -> None:
        """Reload at the next look (SIGHUP); takes any arguments, to serve as a signal handler."""
        self._requested.set()

    def due(self) -> str | None:
        """Why a reload is due now ("SIGHUP", "the file changed"), or None."""
        if self._requested.is_set():
            self._requested.clear()
            self._stat, self._digest = self._stat_now(), self._digest_now()
            return "SIGHUP"
        now = self._clock()
        if now < self._next_look:
            return None
        self._next_look = now + self.every_s
        stat = self._stat_now()
        if stat == self._stat:
            return None
        self._stat = stat
        digest = self._digest_now()
        if digest == self._digest:
            return None
        self._digest = digest
        return "the file changed"

    def _stat_now(self) -> tuple[int, int] | None:
        try:
            stat = self.file.stat()
        except OSError:
            return None
        return stat.st_mtime_ns, stat.st_size

    def _digest_now(self) -> bytes | None:
        try:
            return hashlib.sha256(self.file.read_bytes()).digest()
        except OSError:
            return None

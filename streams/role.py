"""The shape of every long-running part (camera reader, inference loop, routing intake, broker
clients, deadline watcher, verification): a `run()` loop on a daemon thread of its own."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod


class ThreadRole(ABC):
    """`start()` runs `run()` on a daemon thread named `thread_name`; `join()` waits for it.

    `run()` loops until its stop event is set, with a timeout on every blocking call, so a
    stopped role ends promptly; daemon threads never keep a stopping process alive.
    """

    thread_name = "role"
    _thread: threading.Thread | None = None

    @abstractmethod
    def run(self) -> None: ...

    def start(self) -> threading.Thread:
        self._thread = threading.Thread(target=self.run, name=self.thread_name, daemon=True)
        self._thread.start()
        return self._thread

    def join(self, timeout_s: float | None = None) -> bool:
        """Wait up to `timeout_s` for the thread to end; True if it has (or never started)."""
        if self._thread is None:
            return True
        self._thread.join(timeout_s)
        return not self._thread.is_alive()

"""The shape of every long-running part (camera reader, inference loop, routing intake, broker
clients, deadline watcher, verification): a `run()` loop on a daemon thread of its own."""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod

log = logging.getLogger(__name__)


class ThreadRole(ABC):
    """`start()` runs `run()` on a daemon thread named `thread_name`; `join()` waits for it.

    `run()` loops until its stop event is set, with a timeout on every blocking call, so a
    stopped role ends promptly; daemon threads never keep a stopping process alive.
    A `run()` that raises is logged with its traceback and kept in `failure`, so a watcher
    (aibrain.live.supervisor) tells a crashed role from one that finished (a file camera at its end);
    `start()` again runs it anew on a fresh thread.
    """

    thread_name = "role"
    _thread: threading.Thread | None = None
    failure: BaseException | None = None  # what ended the last run, if it raised

    @abstractmethod
    def run(self) -> None: ...

    def start(self) -> threading.Thread:
        self.failure = None
        self._thread = threading.Thread(target=self._run_and_keep_failure, name=self.thread_name, daemon=True)
        self._thread.start()
        return self._thread

    def _run_and_keep_failure(self) -> None:
        try:
            self.run()
        except BaseException as exc:  # noqa: BLE001 - any end by raising is a crash of the role
            self.failure = exc
            log.error("role %s crashed", self.thread_name, exc_info=exc)

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def crashed(self) -> bool:
        """Its last run ended by raising (and it was not started again since)."""
        return self.failure is not None and not self.alive()

    def join(self, timeout_s: float | None = None) -> bool:
        """Wait up to `timeout_s` for the thread to end; True if it has (or never started)."""
        if self._thread is None:
            return True
        self._thread.join(timeout_s)
        return not self._thread.is_alive()

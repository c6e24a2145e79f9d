"""`aibrain run` in a subprocess as an operator starts it, its log read as it is written."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from types import TracebackType
from typing import Self

from tests.e2e.broker import wait_until


class LiveRun:
    """Runs `aibrain [--log-level LEVEL] run --config SITE` until the block ends, then SIGTERM.

    >>> with LiveRun(site) as run:  # doctest: +SKIP
    ...     run.wait_for("camera cam-01: offline", 120)
    >>> run.returncode, run.output  # doctest: +SKIP
    """

    def __init__(self, site: Path, log_level: str = "INFO") -> None:
        self.command = [sys.executable, "-m", "aibrain", "--log-level", log_level, "run", "--config", str(site)]
        self._lines: list[str] = []
        self._process: subprocess.Popen[str] | None = None
        self._reading: threading.Thread | None = None

    @property
    def output(self) -> str:
        return "".join(self._lines)

    @property
    def returncode(self) -> int | None:
        return self._process.returncode if self._process else None

    def wait_for(self, text: str, timeout_s: float) -> None:
        """Until a line holds `text`; fails if the run exits first or the timeout passes."""
        assert self._process is not None
        process = self._process
        wait_until(lambda: text in self.output or process.poll() is not None, timeout_s, repr(text))
        assert text in self.output, f"the run exited without logging {text!r}:\n{self.output[-3000:]}"

    def __enter__(self) -> Self:
        self._process = subprocess.Popen(self.command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                         env=os.environ | {"PYTHONUNBUFFERED": "1"})
        stdout = self._process.stdout
        assert stdout is not None
        self._reading = threading.Thread(target=lambda: self._lines.extend(stdout), daemon=True)
        self._reading.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        assert self._process is not None and self._reading is not None
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
        self._process.wait(timeout=60)
        self._reading.join(10)
        if self._process.stdout is not None:
            self._process.stdout.close()

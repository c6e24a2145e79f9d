"""The `aibrain` command's stdout and stderr with credentials redacted from everything written, as
`aibrain.logs` does for log lines: the last line of defence for a value a command or argparse echoes
(a card path, an option's value) that holds `user:password@`."""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from common.redact import redact_url


class RedactingWriter(io.TextIOBase):
    """Writes to `target` with `redact_url` applied to each piece of text; the rest is the target's."""

    def __init__(self, target: TextIO) -> None:
        self.target = target

    def write(self, text: str) -> int:
        self.target.write(redact_url(text))
        return len(text)

    def flush(self) -> None:
        self.target.flush()

    def isatty(self) -> bool:  # rich and the progress bars ask
        return self.target.isatty()

    def fileno(self) -> int:
        return self.target.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]  # the target's, which io.TextIOBase leaves unset
        return self.target.encoding


@contextmanager
def redacted_output() -> Iterator[None]:
    """sys.stdout and sys.stderr redacted within the block, restored after it."""
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = RedactingWriter(saved[0]), RedactingWriter(saved[1])
    try:
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        sys.stdout, sys.stderr = saved

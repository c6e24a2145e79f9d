"""Config problems: each names the file, the field path and, where there is one, the camera/zone."""

from __future__ import annotations

import reprlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common.redact import redact_url

# Which key names an entry of a list in field paths, so problems say "cameras[2] (cam-03)".
ENTRY_LABELS = {"cameras": "id", "workers": "id", "zones": "name", "rules": "kind",
                "files": "file", "objects": "id"}  # truth files of `aibrain eval incidents`


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One fault of a config file. Anything shaped like `user:password@` in the field or the message is
    redacted as the problem is made (a mistyped `rtsp:/admin:pw@host` is read as a file name and quoted):
    no caller has to remember it."""

    file: Path
    field: str  # e.g. "cameras[0] (cam-01).zones[1] (gate).polygon"
    message: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "field", redact_url(self.field))
        object.__setattr__(self, "message", redact_url(self.message))

    def __str__(self) -> str:
        where = f"{self.file}: {self.field}" if self.field else str(self.file)
        return redact_url(f"{where}: {self.message}")  # the file too: a taxonomy path may be such a value


def shown(text: str) -> str:
    """A key or label as a field path shows it: as written when it is a short printable line, else
    quoted and cut short, so an empty key, a line break or a page of text cannot garble the problem."""
    return text if text.isprintable() and 0 < len(text) <= 64 else reprlib.repr(text)


def entry_path(list_path: str, list_key: str, index: int, entry: Any) -> str:
    """"cameras[2] (cam-03)": the entry's index, and its label where it has a string or number one."""
    label_key = ENTRY_LABELS.get(list_key)
    label = entry.get(label_key) if isinstance(entry, dict) and label_key else None
    if isinstance(label, bool) or not isinstance(label, str | int | float):
        return f"{list_path}[{index}]"
    return f"{list_path}[{index}] ({shown(str(label))})"


class ConfigError(Exception):
    """The site config is not usable; `problems` lists every reason found, not just the first."""

    def __init__(self, problems: list[ConfigProblem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))

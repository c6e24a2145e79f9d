"""Config problems: each names the file, the field path and, where there is one, the camera/zone."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    file: Path
    field: str  # e.g. "cameras[0] (cam-01).zones[1] (gate).polygon"
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.field}" if self.field else str(self.file)
        return f"{where}: {self.message}"


class ConfigError(Exception):
    """The site config is not usable; `problems` lists every reason found, not just the first."""

    def __init__(self, problems: list[ConfigProblem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))

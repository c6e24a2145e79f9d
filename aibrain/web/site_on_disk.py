"""The site file as it is on disk now, for the pages that show and edit what it says (cameras, zones):
read and validated once per change of the file, and written back only after the same validation as
`aibrain check-config`, atomically and with the file's permissions, for `aibrain run` to reload."""

from __future__ import annotations

import hashlib
import os
import re
import stat
import tempfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from configs.load import Site, load_site
from configs.problems import ConfigError, ConfigProblem, entry_path


@dataclass(frozen=True)
class SiteOnDisk:
    """The site as its file says now (or, when the file does not load, the running one and why)."""

    site: Site
    text: str
    version: str  # sha256 of the file's bytes: an editor saves only over the text it was shown
    problems: tuple[ConfigProblem, ...] = ()

    @property
    def loads(self) -> bool:
        return not self.problems


def file_version(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def site_on_disk(running: Site) -> SiteOnDisk:
    """The site file of `running` as it is now; validated once per change of the file."""
    try:
        info = running.file.stat()
        site, text, version, problems = _read(running.file, info.st_mtime_ns, info.st_size)
    except OSError as exc:
        return SiteOnDisk(running, "", "", (ConfigProblem(running.file, "(file)", f"cannot read the file: {exc}"),))
    return SiteOnDisk(site or running, text, version, problems)


@lru_cache(maxsize=4)
def _read(file: Path, _mtime_ns: int, _size: int) -> tuple[Site | None, str, str, tuple[ConfigProblem, ...]]:
    data = file.read_bytes()
    text = data.decode("utf-8", errors="replace")
    try:
        return load_site(file), text, file_version(data), ()
    except ConfigError as exc:
        return None, text, file_version(data), tuple(exc.problems)


def write_checked(file: Path, text: str) -> list[ConfigProblem]:
    """Validate `text` as the site file `file` (written beside it, so relative paths resolve the same) and,
    when it loads, put it in place of `file` in one rename, with `file`'s permissions. Returns the problems
    that kept it out (and `file` untouched), or [] once written."""
    handle, temporary = tempfile.mkstemp(dir=file.parent, prefix=f".{file.name}.", suffix=".editing")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(text.encode("utf-8"))
        try:
            load_site(temporary)
        except ConfigError as exc:
            return exc.problems
        os.chmod(temporary, stat.S_IMODE(file.stat().st_mode))
        os.replace(temporary, file)
        return []
    finally:
        Path(temporary).unlink(missing_ok=True)


@dataclass(frozen=True)
class FieldProblem:
    """A problem placed where the editor shows it: on one zone's field, on the zone as a whole (field
    None), or on the camera's zones together (zone None)."""

    message: str
    zone: int | None = None
    field: str | None = None


_FIELD = re.compile(r"\.([A-Za-z_]+)")


@dataclass(frozen=True)
class ZonePaths:
    """How check-config names a camera's zones in its problems ("cameras[0] (cam-01).zones[1] (gate)"),
    to place each problem on the zone and field it belongs to."""

    camera: str  # "cameras[0] (cam-01)"
    zones: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, camera_index: int, camera_id: str, zone_names: list[str]) -> ZonePaths:
        camera = entry_path("cameras", "cameras", camera_index, {"id": camera_id})
        return cls(camera, [entry_path(f"{camera}.zones", "zones", index, {"name": name})
                            for index, name in enumerate(zone_names)])

    def place(self, problem: ConfigProblem) -> FieldProblem:
        """`problem` on its zone and field, if it names one of this camera's zones.

        >>> paths = ZonePaths.of(0, "cam-01", ["gate", "yard"])
        >>> paths.place(ConfigProblem(Path("s.yaml"), "cameras[0] (cam-01).zones[1] (yard).polygon[2]", "bad"))
        FieldProblem(message='bad', zone=1, field='polygon')
        >>> paths.place(ConfigProblem(Path("s.yaml"), "workers[0] (w-001).grids", "unknown grid"))
        FieldProblem(message='workers[0] (w-001).grids: unknown grid', zone=None, field=None)
        """
        for index, path in enumerate(self.zones):
            if problem.field == path:
                return FieldProblem(problem.message, index)
            if problem.field.startswith(path) and (found := _FIELD.match(problem.field, len(path))):
                return FieldProblem(problem.message, index, found.group(1))
        if problem.field == f"{self.camera}.zones":
            return FieldProblem(problem.message)
        return FieldProblem(f"{problem.field}: {problem.message}" if problem.field else problem.message)

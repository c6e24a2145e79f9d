"""The files a live run keeps for the workbench in `live/` beside the evidence folder (var/live/ by
default), and the readers the web calls. Standard library and pydantic only: the web reads them
without importing the live run (nor the detector behind it).

    cameras.json               each camera's state, since when, frames/s, last incident (one per shard)
    cameras/<camera id>.jpg    its latest picture, at most 480 px wide, refreshed every few seconds
    reload.json                the outcome of the last site reload (one per shard)

Every file is replaced whole (written aside, then renamed), so a reader never sees half of one.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

log = logging.getLogger(__name__)

PICTURES = "cameras"
# Camera ids are the site's Identifiers (configs.schema): safe as file names. An id from a request
# that is not one is never turned into a path.
_CAMERA_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")


class CameraStatus(BaseModel):
    """One camera as its live run last saw it."""

    model_config = ConfigDict(frozen=True)

    camera_id: str
    state: str  # streams.health.CameraState's values (online, stalled, offline...), "starting" before the first
    since: datetime | None = None  # when it entered `state`
    reason: str = ""  # why, for offline and stalled (never a URL's credentials)
    fps: float = 0.0  # frames through the detector per second, over the last ~10 s
    last_incident_at: datetime | None = None  # when this run last confirmed a violation on it
    picture_at: datetime | None = None  # when its picture in cameras/ was taken (the frame's time)
    updated_at: datetime  # when the run wrote this: much older than a few seconds means the run is not running


class CamerasFile(BaseModel):
    cameras: list[CameraStatus]


class ReloadOutcome(BaseModel):
    """What became of the last reload of the site file: refused (`problems`, as check-config prints
    them; the running configuration kept) or applied (`changes`; `needs_restart` names what was changed
    in the file but takes effect only when `aibrain run` starts again)."""

    at: datetime
    file: str
    ok: bool
    problems: list[str] = []
    changes: list[str] = []
    needs_restart: list[str] = []


def live_dir(evidence_dir: Path) -> Path:
    """`live/` beside the site's evidence folder: pass `site.path(site.config.evidence_dir)`."""
    return evidence_dir.parent / "live"


def shard_suffix(shard: tuple[int, int]) -> str:
    """File-name suffix of a shard's files: processes of one site on one host keep theirs apart.

    >>> shard_suffix((0, 1)), shard_suffix((1, 4))
    ('', '-shard-1-of-4')
    """
    index, count = shard
    return "" if count == 1 else f"-shard-{index}-of-{count}"


def cameras_file(folder: Path, shard: tuple[int, int]) -> Path:
    return folder / f"cameras{shard_suffix(shard)}.json"


def reload_file(folder: Path, shard: tuple[int, int]) -> Path:
    return folder / f"reload{shard_suffix(shard)}.json"


def picture_file(folder: Path, camera_id: str) -> Path:
    if not _CAMERA_ID.match(camera_id):
        raise ValueError(f"not a camera id: {camera_id!r}")
    return folder / PICTURES / f"{camera_id}.jpg"


def replace_file(path: Path, data: bytes) -> None:
    """Write `data` beside `path`, then rename it over `path` (atomic on one file system)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


# -- what the web calls ----------------------------------------------------------------------------

def read_camera_status(folder: Path) -> dict[str, CameraStatus]:
    """Every camera's status from the live run's files in `folder` (all shards'), by camera id; {} when
    no run wrote any. A file that cannot be read is skipped (logged): the page shows the others."""
    found: dict[str, CameraStatus] = {}
    for path in sorted(folder.glob("cameras*.json")):
        try:
            cameras = CamerasFile.model_validate_json(path.read_bytes()).cameras
        except (OSError, ValidationError) as exc:
            log.warning("%s: not readable (%s); skipped", path, exc)
            continue
        for camera in cameras:
            if camera.camera_id not in found or camera.updated_at > found[camera.camera_id].updated_at:
                found[camera.camera_id] = camera
    return found


def camera_picture(folder: Path, camera_id: str) -> Path | None:
    """The camera's latest picture (a JPEG file), or None: no picture yet, or not a camera id."""
    try:
        path = picture_file(folder, camera_id)
    except ValueError:
        return None
    return path if path.is_file() else None


def read_reload_outcome(folder: Path) -> ReloadOutcome | None:
    """The newest reload outcome in `folder` (of any shard), or None when the run never reloaded."""
    outcomes = []
    for path in folder.glob("reload*.json"):
        try:
            outcomes.append(ReloadOutcome.model_validate_json(path.read_bytes()))
        except (OSError, ValidationError) as exc:
            log.warning("%s: not readable (%s); skipped", path, exc)
    return max(outcomes, key=lambda outcome: outcome.at, default=None)

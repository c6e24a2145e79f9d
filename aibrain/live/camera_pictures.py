"""The workbench's camera cards, kept by the live run: a small JPEG per camera every few seconds and
each camera's state, since when, frames/s and last incident (files described in live_files.py)."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np

from aibrain.live.live_files import CamerasFile, CameraStatus, cameras_file, picture_file, replace_file
from common.redact import describe, redact_url
from common.role import ThreadRole
from detector.violation import Violation
from streams.frame import Frame
from streams.health import HealthEvent
from streams.source import yield_to_inference

log = logging.getLogger(__name__)

PICTURE_EVERY_S = 3.0  # per camera
STATUS_EVERY_S = 1.0  # cameras.json, and the pictures taken since the last round
FPS_WINDOW_S = 10.0
MAX_WIDTH = 480
JPEG_QUALITY = 75


def picture_jpeg(image: np.ndarray) -> bytes:
    """A BGR picture as a JPEG at most MAX_WIDTH wide, its proportions kept.

    >>> jpeg = picture_jpeg(np.zeros((1080, 1920, 3), np.uint8))
    >>> jpeg[:2] == b"\\xff\\xd8", cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR).shape
    (True, (270, 480, 3))
    """
    height, width = image.shape[:2]
    if width > MAX_WIDTH:
        image = cv2.resize(image, (MAX_WIDTH, max(1, round(height * MAX_WIDTH / width))), interpolation=cv2.INTER_AREA)
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise ValueError(f"a {width}x{height} picture could not be encoded as JPEG")
    return encoded.tobytes()


@dataclass(frozen=True, slots=True)
class _Picture:
    """A frame's detector picture (already small: a card needs no more) and its time; never the Frame,
    which would keep the decoder's full-size buffer alive and could be converted to full size here."""

    ts: float
    image: np.ndarray


@dataclass
class _Camera:
    state: str = "starting"
    since: datetime | None = None
    reason: str = ""
    frames: int = 0  # detected since start
    picture_due: float = 0.0  # monotonic: the next frame offered after this becomes the picture
    waiting: _Picture | None = None  # taken from a batch, not yet written
    picture_at: datetime | None = None
    last_incident_at: datetime | None = None
    counts: deque[tuple[float, int]] = field(default_factory=deque)  # (monotonic, frames) over FPS_WINDOW_S

    def sample_fps(self, now: float) -> float:
        """Frames/s since the oldest count within FPS_WINDOW_S, this count kept for the next calls."""
        self.counts.append((now, self.frames))
        while len(self.counts) > 2 and self.counts[1][0] <= now - FPS_WINDOW_S:
            self.counts.popleft()
        (first_at, first), (last_at, last) = self.counts[0], self.counts[-1]
        return (last - first) / (last_at - first_at) if last_at > first_at else 0.0


class CameraPictures(ThreadRole):
    """Keeps `folder`'s camera files (live_files.py) up to date at little cost: the inference loop
    hands each batch to `offer` (a counter and, every PICTURE_EVERY_S per camera, a reference to the
    detector's picture of a frame, under a lock held for microseconds); this role's own thread, at a
    lower priority, scales and encodes those pictures and writes the files, so inference never waits on JPEG
    encoding or the disk. Cameras' health and incidents come in through `on_health` and `on_violation`.

    >>> pictures = CameraPictures(Path("var/live"), ["cam-01"], stop)  # doctest: +SKIP
    >>> InferenceLoop(..., on_batch=pictures.offer); pictures.start()  # doctest: +SKIP
    """

    thread_name = "camera-pictures"

    def __init__(self, folder: Path, camera_ids: Iterable[str], stop: threading.Event,
                 shard: tuple[int, int] = (0, 1), *, picture_every_s: float = PICTURE_EVERY_S,
                 status_every_s: float = STATUS_EVERY_S, clock: Callable[[], float] = time.time) -> None:
        self.folder, self.shard = folder, shard
        self._stop = stop
        self._picture_every_s, self._status_every_s, self._clock = picture_every_s, status_every_s, clock
        self._lock = threading.Lock()  # guards _cameras and each _Camera
        self._cameras = {camera_id: _Camera() for camera_id in camera_ids}
        self._failing = False  # the last write failed: logged once until one succeeds

    # -- called by other threads -------------------------------------------------------------------

    def offer(self, frames: list[Frame]) -> None:
        """The inference loop's batch, after detection: counted, and kept as a picture where one is due."""
        now = time.monotonic()
        with self._lock:
            for frame in frames:
                camera = self._cameras.get(frame.camera_id)
                if camera is None:
                    continue
                camera.frames += 1
                if now >= camera.picture_due:
                    camera.picture_due = now + self._picture_every_s
                    camera.waiting = _Picture(frame.ts, frame.detect_image)

    def on_health(self, event: HealthEvent) -> None:
        with self._lock:
            camera = self._cameras.get(event.camera_id)
            if camera is not None:
                camera.state, camera.reason = event.state.value, redact_url(event.reason)
                camera.since = datetime.fromtimestamp(event.ts, UTC)

    def on_violation(self, violation: Violation) -> None:
        with self._lock:
            camera = self._cameras.get(violation.camera_id)
            if camera is not None:
                camera.last_incident_at = violation.confirmed_at

    def use_cameras(self, camera_ids: Iterable[str]) -> None:
        """Keep files for exactly these cameras (a site reload); a removed camera's picture is deleted."""
        wanted = set(camera_ids)
        with self._lock:
            removed = set(self._cameras) - wanted
            self._cameras = {camera_id: self._cameras.get(camera_id) or _Camera() for camera_id in wanted}
        for camera_id in removed:
            picture_file(self.folder, camera_id).unlink(missing_ok=True)

    # -- the role's thread -------------------------------------------------------------------------

    def run(self) -> None:
        yield_to_inference()
        while not self._stop.wait(self._status_every_s):
            self.write_once()

    def write_once(self) -> None:
        """Write the pictures taken since the last call, then cameras.json."""
        with self._lock:
            waiting = {camera_id: camera.waiting for camera_id, camera in self._cameras.items() if camera.waiting}
            for camera_id in waiting:
                self._cameras[camera_id].waiting = None
        taken = {camera_id: at for camera_id, picture in waiting.items()
                 if (at := self._write_picture(camera_id, picture)) is not None}
        now, updated_at = time.monotonic(), datetime.fromtimestamp(self._clock(), UTC)
        with self._lock:
            statuses = []
            for camera_id, camera in self._cameras.items():
                camera.picture_at = taken.get(camera_id, camera.picture_at)
                statuses.append(CameraStatus(
                    camera_id=camera_id, state=camera.state, since=camera.since, reason=camera.reason,
                    fps=round(camera.sample_fps(now), 2), last_incident_at=camera.last_incident_at,
                    picture_at=camera.picture_at, updated_at=updated_at))
        self._write(cameras_file(self.folder, self.shard),
                    CamerasFile(cameras=statuses).model_dump_json(indent=1).encode())

    def _write_picture(self, camera_id: str, picture: _Picture) -> datetime | None:
        try:
            jpeg = picture_jpeg(picture.image)
        except (cv2.error, ValueError) as exc:
            log.warning("camera %s: its picture could not be encoded (%s)", camera_id, describe(exc))
            return None
        return datetime.fromtimestamp(picture.ts, UTC) if self._write(picture_file(self.folder, camera_id), jpeg) \
            else None

    def _write(self, path: Path, data: bytes) -> bool:
        try:
            replace_file(path, data)
        except OSError as exc:
            if not self._failing:
                log.warning("camera files for the workbench cannot be written to %s (%s); trying on", path,
                            describe(exc))
            self._failing = True
            return False
        self._failing = False
        return True

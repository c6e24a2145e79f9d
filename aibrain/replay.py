"""`aibrain replay`: recorded files through one camera's zones and rules, by media time, at full speed.

The same reader, inference loop, tracker, rules and dispatcher as a live run; only the timeline
differs (origin + media time instead of the wall clock), so a replay finds what a live run finds.
Incidents go to a temporary database unless `--database` names one, and are never published.
"""

from __future__ import annotations

import json
import logging
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import av
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

from aibrain import assemble
from configs.load import Site
from configs.schema import CameraConfig
from detector.inference_loop import CameraDetectorState, InferenceLoop, LoopStats
from detector.violation import Violation
from routing.dispatch import Dispatcher, DispatchResult
from routing.migrate import upgrade_to_head
from streams.frame import Frame
from streams.health import CameraState, HealthEvent
from streams.mailbox import LatestFrameSlots
from streams.source import CameraReader

log = logging.getLogger(__name__)

PROGRESS_POLL_S = 0.2


class ReplayError(RuntimeError):
    pass


@dataclass(frozen=True)
class ReplayRequest:
    files: list[Path]
    camera_id: str
    json_out: Path | None = None
    origin: datetime | None = None  # wall time of the first file's start
    database: str | None = None
    progress: bool = True


def incident_record(violation: Violation, result: DispatchResult, file: Path, origin_ts: float) -> dict[str, Any]:
    return {
        "incident_id": result.incident_id, "dispatch_id": result.dispatch_id,
        "kind": violation.kind.value, "kind_label_zh": violation.kind.label_zh,
        "camera_id": violation.camera_id, "zone": violation.zone,
        "grid_id": result.grid_id, "worker_id": result.worker_id,
        "object_kind": violation.object_kind, "class_name": violation.class_name, "track_id": violation.track_id,
        "first_seen": violation.first_seen.isoformat(), "confirmed_at": violation.confirmed_at.isoformat(),
        "media_time_s": round(violation.confirmed_at.timestamp() - origin_ts, 3),
        "bbox": [round(v, 1) for v in violation.bbox], "confidence": round(violation.confidence, 4),
        "snapshot": str(violation.snapshot) if violation.snapshot else None, "file": str(file),
    }


def media_duration_s(file: Path) -> float | None:
    """For the progress bar only; an unreadable file is the reader's to report."""
    try:
        with av.open(str(file)) as container:
            return container.duration / av.time_base if container.duration else None
    except av.FFmpegError:
        return None


def file_origin(file: Path, request: ReplayRequest, index: int) -> float:
    if index == 0 and request.origin is not None:
        return request.origin.timestamp()
    return file.stat().st_mtime


class FileReplay:
    """Replays one file through a camera's detector state, which carries over to the next file."""

    def __init__(self, site: Site, camera: CameraConfig, model: assemble.LoadedModel, state: CameraDetectorState,
                 on_violation: Callable[[Violation, Frame], None]):
        self.site, self.camera, self.model, self.state = site, camera, model, state
        self.on_violation = on_violation

    def run(self, file: Path, origin_ts: float, on_progress: Callable[[float], None]) -> LoopStats:
        stop = threading.Event()
        slots = LatestFrameSlots([self.camera.id])
        settings = assemble.source_settings(self.site, self.camera, url=str(file), replay_origin=origin_ts)
        reader = CameraReader(settings, slots, on_health=self.on_health, stop=stop)
        detector = self.site.config.detector
        inference = InferenceLoop(self.model.backend, slots, {self.camera.id: self.state}, self.on_violation, stop,
                                  max_batch=detector.max_batch, max_wait_ms=detector.max_wait_ms,
                                  evidence_dir=self.site.path(self.site.config.evidence_dir), tz=self.site.config.tz)
        reader.start()
        inference_thread = inference.start()
        while not reader.join(PROGRESS_POLL_S):
            last = reader.stats().last_frame_ts
            if last is not None:
                on_progress(last - origin_ts)
        slots.close()  # the loop drains what is left, then returns
        inference_thread.join()
        if reader.stats().state is CameraState.FAILED:
            raise ReplayError(f"cannot read {file} (see the log above)")
        return inference.stats

    @staticmethod
    def on_health(event: HealthEvent) -> None:
        log.debug("replay %s: %s %s", event.camera_id, event.state.value, event.reason)


def run_replay(site: Site, request: ReplayRequest) -> int:
    try:
        camera = site.camera(request.camera_id)
    except KeyError as exc:
        print(f"error: {exc.args[0]}", file=sys.stderr)
        return 2
    missing = [str(f) for f in request.files if not f.is_file()]
    if missing:
        print(f"error: cannot read {', '.join(missing)}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="aibrain-replay-") as scratch:
        database = request.database or f"sqlite:///{scratch}/replay.db"
        upgrade_to_head(database)
        dispatcher = assemble.dispatcher(site, assemble.sessions(database), wake=None)
        try:
            records = replay_files(site, camera, request, dispatcher)
        except ReplayError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    if request.json_out:
        request.json_out.parent.mkdir(parents=True, exist_ok=True)
        with request.json_out.open("w", encoding="utf-8") as out:
            out.writelines(json.dumps(record, ensure_ascii=False) + "\n" for record in records)
    print(f"{len(records)} incident(s) in {len(request.files)} file(s)"
          + (f"; written to {request.json_out}" if request.json_out else ""))
    for record in records:
        print(f"  {record['confirmed_at']}  {record['kind']} ({record['kind_label_zh']})  zone {record['zone']}"
              f"  grid {record['grid_id']}  worker {record['worker_id']}  conf {record['confidence']:.2f}")
    return 0


def replay_files(site: Site, camera: CameraConfig, request: ReplayRequest,
                 dispatcher: Dispatcher) -> list[dict[str, Any]]:
    model = assemble.open_model(site)
    state = assemble.camera_detector_state(site, camera, model)
    records: list[dict[str, Any]] = []
    current: dict[str, Any] = {}

    def on_violation(violation: Violation, _frame: Frame) -> None:
        result = dispatcher.dispatch(violation)
        records.append(incident_record(violation, result, current["file"], current["origin"]))

    replay = FileReplay(site, camera, model, state, on_violation)
    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
               TimeRemainingColumn())
    with Progress(*columns, disable=not request.progress, transient=False) as progress:
        overall = progress.add_task("all files", total=len(request.files))
        for index, file in enumerate(request.files):
            current.update(file=file, origin=file_origin(file, request, index))
            task = progress.add_task(file.name, total=media_duration_s(file) or 1.0)

            def show(done_s: float, task: TaskID = task) -> None:
                progress.update(task, completed=done_s)

            replay.run(file, current["origin"], show)
            progress.update(task, completed=progress.tasks[task].total)
            progress.advance(overall)
    return records

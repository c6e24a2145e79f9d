"""`aibrain replay`: recorded files through one camera's zones and rules, by media time.

The same reader, inference loop, tracker, rules and dispatcher as a live run; only the timeline
differs (origin + media time instead of the wall clock), so a replay finds what a live run finds.
Incidents go to a temporary database unless `--database` names one, and are never published.
A file that cannot be read is reported and skipped; the others are replayed and their incidents kept.
Ctrl-C ends the replay early and still writes what was found.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import av
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

from aibrain import assemble
from aibrain.database_unavailable import exit_if_unavailable
from aibrain.replay.inputs import ReplayInputError, Speed, video_files
from aibrain.replay.outcome import FileOutcome, IncidentRecord, ReplayOutcome
from aibrain.replay.report import report_context, write_report
from aibrain.replay.request import ReplayRequest
from common.redact import redact_url
from configs.load import Site
from configs.schema import CameraConfig
from detector.inference_loop import CameraDetectorState, InferenceLoop
from detector.violation import Violation
from routing.incidents.dispatch import Dispatcher, DispatchResult
from routing.incidents.migrate import upgrade_to_head
from streams.frame import Frame
from streams.health import CameraState, HealthEvent
from streams.mailbox import LatestFrameSlots
from streams.source import CameraReader

log = logging.getLogger(__name__)

PROGRESS_POLL_S = 0.2
INTERRUPT_JOIN_S = 10.0
EXIT_FILES_FAILED = 1
EXIT_USAGE = 2
EXIT_FILES_CUT_SHORT = 3  # every file read, but some not cleanly to its end; their incidents are kept
EXIT_INTERRUPTED = 130  # as shells report a command ended by Ctrl-C


class ReplayError(RuntimeError):
    pass


@dataclass(frozen=True)
class FileRead:
    """What replaying one file gave: frames through the detector, and why it was not read cleanly."""

    frames: int
    damage: str | None  # e.g. "cut short or damaged: its packets end at 4.3 s of 10.0 s"


def incident_record(violation: Violation, result: DispatchResult, file: Path, origin_ts: float) -> IncidentRecord:
    x1, y1, x2, y2 = (round(v, 1) for v in violation.bbox)
    return IncidentRecord(
        incident_id=result.incident_id, dispatch_id=result.dispatch_id,
        kind=violation.kind, kind_label_zh=result.kind_label_zh, object_count=violation.object_count,
        camera_id=violation.camera_id, zone=violation.zone, grid_id=result.grid_id, worker_id=result.worker_id,
        object_kind=violation.object_kind, class_name=violation.class_name, track_id=violation.track_id,
        first_seen=violation.first_seen, confirmed_at=violation.confirmed_at,
        media_time_s=round(violation.confirmed_at.timestamp() - origin_ts, 3),
        bbox=(x1, y1, x2, y2), confidence=round(violation.confidence, 4), snapshot=violation.snapshot, file=file)


def media_duration_s(file: Path) -> float | None:
    """For progress and the report; an unreadable file is the reader's to report."""
    try:
        with av.open(str(file)) as container:
            return container.duration / av.time_base if container.duration else None
    except av.FFmpegError:
        return None


def file_origins(files: list[Path], durations: list[float | None], origin: datetime | None) -> list[float]:
    """Each file's wall time at media time 0. With `origin` the files are taken as consecutive parts
    of one recording (each starts where the one before ended; a file of unknown length adds nothing);
    without it, each file starts at its modification time."""
    if origin is None:
        return [file.stat().st_mtime for file in files]
    origins, at = [], origin.timestamp()
    for duration in durations:
        origins.append(at)
        at += duration or 0.0
    return origins


class FileReplay:
    """Replays one file through a camera's detector state, which carries over to the next file.

    `start_s`/`end_s` cut each file by media time; REALTIME speed paces frames like a camera's;
    snapshots go to `evidence_dir` (default: the site's). The detector sees the picture shrunk to the
    model's input as in a live run; `full_size_detect` gives it the full-size picture instead (the path
    before issue 13, kept for comparisons).
    """

    def __init__(self, site: Site, camera: CameraConfig, model: assemble.LoadedModel, state: CameraDetectorState,
                 on_violation: Callable[[Violation, Frame], None], *, speed: Speed = Speed.MAX,
                 start_s: float | None = None, end_s: float | None = None, evidence_dir: Path | None = None,
                 full_size_detect: bool = False):
        self.site, self.camera, self.model, self.state = site, camera, model, state
        self.on_violation = on_violation
        self.speed, self.start_s, self.end_s = speed, start_s, end_s
        self.evidence_dir = evidence_dir or site.path(site.config.evidence_dir)
        self.detect_size = None if full_size_detect else assemble.detect_size(model)

    def run(self, file: Path, origin_ts: float, on_progress: Callable[[float], None]) -> FileRead:
        stop = threading.Event()
        slots = LatestFrameSlots([self.camera.id])
        settings = replace(assemble.source_settings(self.site, self.camera, url=str(file), replay_origin=origin_ts,
                                                    detect_size=self.detect_size),
                           pace=self.speed is Speed.REALTIME, start_s=self.start_s, end_s=self.end_s)
        problems: list[str] = []

        def on_health(event: HealthEvent) -> None:
            log.debug("replay %s: %s %s", event.camera_id, event.state.value, event.reason)
            if event.state is CameraState.OFFLINE:
                problems.append(event.reason)

        reader = CameraReader(settings, slots, on_health=on_health, stop=stop)
        detector = self.site.config.detector
        inference = InferenceLoop(self.model.backend, slots, {self.camera.id: self.state}, self.on_violation, stop,
                                  max_batch=detector.max_batch, max_wait_ms=detector.max_wait_ms,
                                  evidence_dir=self.evidence_dir, tz=self.site.config.tz)
        try:
            reader.start()
            inference.start()
            while not reader.join(PROGRESS_POLL_S):
                last = reader.stats().last_frame_ts
                if last is not None:
                    on_progress(last - origin_ts)
        except KeyboardInterrupt:  # both end after the frame in hand; what was dispatched stays
            stop.set()
            for role in (reader, inference):
                with contextlib.suppress(RuntimeError):  # Ctrl-C came while it was being started
                    role.join(INTERRUPT_JOIN_S)
            raise
        slots.close()  # the loop drains what is left, then returns
        inference.join()
        stats = reader.stats()
        if stats.state is CameraState.FAILED:
            reason = problems[-1].removeprefix(f"cannot open {settings.safe_url}: ") if problems else "see the log"
            raise ReplayError(f"cannot read {file} (camera {self.camera.id}): {reason}")
        return FileRead(inference.stats.frames, stats.damage)


def check_request(request: ReplayRequest) -> None:
    if request.start_s is not None and request.end_s is not None and request.end_s <= request.start_s:
        raise ReplayInputError(f"--end {request.end_s:g} s must be after --start {request.start_s:g} s")
    if request.clips and request.report_dir is None:
        raise ReplayInputError("--clips needs --report DIR (the clips go into the report's folder)")


def run_replay(site: Site, request: ReplayRequest) -> int:
    """Replay, then write what was asked (JSON lines, report); 1 when a file could not be read."""
    try:
        check_request(request)
        camera = site.camera(request.camera_id)
        files = video_files(request.files)
    except (KeyError, ReplayInputError) as exc:
        print(f"error: {redact_url(exc.args[0])}", file=sys.stderr)
        return EXIT_USAGE
    evidence_dir = request.report_dir / "evidence" if request.report_dir else None  # None: the site's
    with tempfile.TemporaryDirectory(prefix="aibrain-replay-") as scratch:
        database = request.database or f"sqlite:///{scratch}/replay.db"
        with exit_if_unavailable(database):
            upgrade_to_head(database)
        dispatcher = assemble.dispatcher(site, assemble.sessions(database), wake=None)
        outcome = replay_files(site, camera, files, request, dispatcher, evidence_dir)
    write_outputs(site, camera, request, outcome)
    for failed in outcome.failed:
        print(f"error: {redact_url(str(failed.error))}", file=sys.stderr)
    for damaged in outcome.damaged:
        print(f"warning: {redact_url(f'{damaged.file} (camera {camera.id}): {damaged.damage}')}; "
              "the incidents found in it are kept", file=sys.stderr)
    if outcome.interrupted:
        return EXIT_INTERRUPTED
    if outcome.failed:
        return EXIT_FILES_FAILED
    return EXIT_FILES_CUT_SHORT if outcome.damaged else 0


def write_outputs(site: Site, camera: CameraConfig, request: ReplayRequest, outcome: ReplayOutcome) -> None:
    records = outcome.records
    if request.json_out:
        request.json_out.parent.mkdir(parents=True, exist_ok=True)
        with request.json_out.open("w", encoding="utf-8") as out:
            out.writelines(json.dumps(record.as_json(), ensure_ascii=False) + "\n" for record in records)
    report = None
    if request.report_dir:
        report = write_report(outcome, report_context(site, camera, request), request.report_dir, clips=request.clips)
    read = len(outcome.files) - len(outcome.failed)
    print(f"{len(records)} incident(s) in {read} of {len(outcome.files)} file(s)"
          + (f"; written to {request.json_out}" if request.json_out else ""))
    if report:
        print(f"report: {report}")
    for replayed in outcome.files:
        if replayed.error is None:
            print(f"  {replayed.file.name}: {replayed.frames} frame(s) detected in {replayed.elapsed_s:.1f} s"
                  + (f", {replayed.speed_factor:.1f}x real time" if replayed.speed_factor else "")
                  + (f"; {replayed.damage}" if replayed.damage else ""))
    for record in records:
        print(f"  {record.confirmed_at.isoformat()}  {record.kind} ({record.kind_label_zh})  zone {record.zone}"
              f"  grid {record.grid_id}  worker {record.worker_id}  conf {record.confidence:.2f}")


def interrupted(outcome: ReplayOutcome, current: FileOutcome) -> None:
    """Ctrl-C: the file being replayed and those after it are marked, and what was found is written."""
    outcome.interrupted = True
    current.error = f"{current.file}: interrupted; incidents found before are kept"
    for later in outcome.files[outcome.files.index(current) + 1:]:
        later.error = f"{later.file}: not replayed (interrupted)"
    log.warning("interrupted: writing what was found so far")


class ReplayProgress:
    """Progress bars on stderr, in media seconds: one per file and one over all files."""

    def __init__(self, spans: list[float], enabled: bool) -> None:
        columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                   TimeRemainingColumn())
        self.bars = Progress(*columns, disable=not enabled, transient=False, console=Console(stderr=True))
        self.overall = self.bars.add_task("all files", total=sum(spans))
        self._done_s = 0.0  # of the files finished
        self._file: tuple[TaskID, float] | None = None

    def __enter__(self) -> ReplayProgress:
        self.bars.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.bars.stop()

    def file(self, name: str, span_s: float, start_s: float) -> Callable[[float], None]:
        """A bar for the next file; returns what to call with the media time reached."""
        task = self.bars.add_task(escape(name), total=span_s)  # a file name is text, not rich markup
        self._file = task, span_s

        def reached(media_s: float) -> None:
            done = min(max(media_s - start_s, 0.0), span_s)
            self.bars.update(task, completed=done)
            self.bars.update(self.overall, completed=self._done_s + done)

        return reached

    def file_done(self) -> None:
        assert self._file is not None
        task, span_s = self._file
        self._done_s += span_s
        self.bars.update(task, completed=span_s)
        self.bars.update(self.overall, completed=self._done_s)


def replay_files(site: Site, camera: CameraConfig, files: list[Path], request: ReplayRequest,
                 dispatcher: Dispatcher, evidence_dir: Path | None, full_size_detect: bool = False) -> ReplayOutcome:
    """Replay `files` one after another through one detector state (`FileReplay`), dispatching what it finds."""
    model = assemble.open_model(site)
    state = assemble.camera_detector_state(site, camera, model)
    outcome = ReplayOutcome(started_at=datetime.now(UTC))
    durations = [media_duration_s(file) for file in files]
    origins = file_origins(files, durations, request.origin)
    outcome.files = [FileOutcome(file, origin, duration, request.start_s or 0.0, request.end_s)
                     for file, origin, duration in zip(files, origins, durations, strict=True)]
    current: list[FileOutcome] = []

    def on_violation(violation: Violation, _frame: Frame) -> None:
        result = dispatcher.dispatch(violation)
        replayed = current[-1]
        replayed.incidents += 1
        outcome.records.append(incident_record(violation, result, replayed.file, replayed.origin_ts))

    replay = FileReplay(site, camera, model, state, on_violation, speed=request.speed, start_s=request.start_s,
                        end_s=request.end_s, evidence_dir=evidence_dir, full_size_detect=full_size_detect)
    spans = [replayed.span_s or 1.0 for replayed in outcome.files]  # unknown length: a nominal second
    with ReplayProgress(spans, request.progress) as progress:
        for replayed, span in zip(outcome.files, spans, strict=True):
            current.append(replayed)
            reached = progress.file(replayed.file.name, span, replayed.start_s)
            started = time.monotonic()
            try:
                read = replay.run(replayed.file, replayed.origin_ts, reached)
                replayed.frames, replayed.damage = read.frames, read.damage
            except ReplayError as exc:
                replayed.error = str(exc)
                log.error("%s; going on with the other files", exc)
            except KeyboardInterrupt:
                interrupted(outcome, replayed)
                break
            finally:
                replayed.elapsed_s = time.monotonic() - started
            progress.file_done()
    outcome.finished_at = datetime.now(UTC)
    return outcome

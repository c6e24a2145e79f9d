"""The files replayed in-process through the camera's zones and rules (the `aibrain replay` machinery, a
temporary SQLite), then their incidents matched against the truth.

Each file is replayed on its own, with a fresh detector state and its truth entry's media range: files of an
evaluation set are separate recordings, so nothing standing at the end of one may carry over to the next.
The files follow each other on one timeline (from the first file's modification time), so their evidence
never shares a time stamp.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import av

from aibrain import assemble
from aibrain.database_unavailable import exit_if_unavailable
from aibrain.evaluation.matching import (
    Confirmation,
    Expectation,
    FalseAlarm,
    Figures,
    FileMatching,
    Miss,
    expectation,
    figures,
    match_file,
)
from aibrain.evaluation.truth import Box, TruthEntry
from aibrain.replay.outcome import FileOutcome, IncidentRecord, ReplayOutcome
from aibrain.replay.replay_run import (
    EXIT_FILES_CUT_SHORT,
    EXIT_FILES_FAILED,
    EXIT_INTERRUPTED,
    replay_files,
)
from aibrain.replay.request import ReplayRequest
from configs.load import Site
from configs.schema import CameraConfig
from routing.incidents.migrate import upgrade_to_head

GAP_S = 60.0  # between one file's end and the next one's start on the evaluation's timeline


@dataclass(frozen=True)
class EvalFile:
    """A FILE and its truth, with what the evaluation needs of the file itself."""

    file: Path
    entry: TruthEntry
    frame_size: tuple[int, int]  # width, height: incident boxes are pixels, truth boxes fractions


@dataclass
class Evaluation:
    """What `aibrain eval incidents` found: the replay, each file's matching, the figures."""

    camera_id: str
    outcome: ReplayOutcome
    files: list[EvalFile]
    expected: list[Expectation]
    matchings: list[FileMatching]
    per_kind: dict[str, Figures]
    overall: Figures
    slack_s: float

    @property
    def exit_code(self) -> int:
        """0 when every file was replayed to its end; the replay's failure code otherwise."""
        if self.outcome.interrupted:
            return EXIT_INTERRUPTED
        if self.outcome.failed:
            return EXIT_FILES_FAILED
        return EXIT_FILES_CUT_SHORT if self.outcome.damaged else 0

    @property
    def false_alarms(self) -> list[FalseAlarm]:
        return [alarm for matching in self.matchings for alarm in matching.false_alarms]

    @property
    def misses(self) -> list[Miss]:
        return [miss for matching in self.matchings for miss in matching.misses]

    def as_json(self, truth_file: Path) -> dict[str, Any]:
        """What `--json FILE` writes (the figures, each false alarm and each miss)."""
        return {"truth": str(truth_file), "camera": self.camera_id, "files": [str(f.file) for f in self.files],
                "slack_s": self.slack_s,
                "kinds": {kind: kind_figures.as_json() for kind, kind_figures in self.per_kind.items()},
                "overall": self.overall.as_json(),
                "false_alarms": [alarm.as_json() for alarm in self.false_alarms],
                "misses": [miss.as_json() for miss in self.misses]}


def frame_size(file: Path) -> tuple[int, int]:
    """The video's picture size; (0, 0) when it cannot be read (the replay reports that file)."""
    try:
        with av.open(str(file)) as container:
            codec = container.streams.video[0].codec_context
            return codec.width, codec.height
    except (av.FFmpegError, IndexError):
        return 0, 0


def replay_each(site: Site, camera: CameraConfig, files: list[EvalFile], progress: bool,
                evidence_dir: Path | None, full_size_detect: bool = False) -> ReplayOutcome:
    """Every file replayed on its own (its range, a fresh detector state) into one temporary database."""
    merged = ReplayOutcome(started_at=datetime.now(UTC))
    at = datetime.fromtimestamp(files[0].file.stat().st_mtime, UTC) if files else merged.started_at
    with tempfile.TemporaryDirectory(prefix="aibrain-eval-") as scratch:
        database = f"sqlite:///{scratch}/eval.db"
        with exit_if_unavailable(database):
            upgrade_to_head(database)
        dispatcher = assemble.dispatcher(site, assemble.sessions(database), wake=None)
        for one in files:
            start_s, end_s = one.entry.range or (None, None)
            request = ReplayRequest(files=[one.file], camera_id=camera.id, origin=at, progress=progress,
                                    start_s=start_s, end_s=end_s)
            outcome = replay_files(site, camera, [one.file], request, dispatcher, evidence_dir, full_size_detect)
            merged.files += outcome.files
            merged.records += outcome.records
            if outcome.interrupted:
                merged.interrupted = True
                break
            at += timedelta(seconds=(outcome.files[0].duration_s or 0.0) + GAP_S)
    merged.finished_at = datetime.now(UTC)
    return merged


def evaluated_span(replayed: FileOutcome) -> tuple[float, float]:
    """The media time evaluated: from the range's start to its end within the file (unknown length: the
    range's end or, without one, no end)."""
    ends = [end for end in (replayed.end_s, replayed.duration_s) if end is not None]
    return replayed.start_s, min(ends) if ends else float("inf")


def confirmation(record: IncidentRecord, size: tuple[int, int]) -> Confirmation:
    width, height = size
    x1, y1, x2, y2 = record.bbox
    box: Box = (x1 / width, y1 / height, x2 / width, y2 / height) if width and height else (0.0, 0.0, 0.0, 0.0)
    return Confirmation(str(record.file), record.kind, record.zone, record.media_time_s, box, record.incident_id,
                        str(record.snapshot) if record.snapshot else None)


def evaluate(site: Site, camera: CameraConfig, files: list[EvalFile], dwells: dict[tuple[str, str], float],
             slack_s: float, progress: bool = True, evidence_dir: Path | None = None,
             full_size_detect: bool = False) -> Evaluation:
    """Replay `files`, then match each one's incidents against its truth entry. The detector sees what it
    sees live (the picture shrunk to the model's input); `full_size_detect`: the full-size picture, to
    compare with the path before issue 13."""
    outcome = replay_each(site, camera, files, progress, evidence_dir, full_size_detect)
    expected: list[Expectation] = []
    matchings = []
    for one, replayed in zip(files, outcome.files, strict=False):  # interrupted: the files not reached are left
        span = evaluated_span(replayed)
        mine = [expectation(str(one.file), obj, dwells[one.entry.name, obj.id], slack_s, span)
                for obj in one.entry.objects]
        incidents = [confirmation(record, one.frame_size) for record in outcome.records if record.file == one.file]
        matchings.append(match_file(incidents, mine, one.entry.ignore))
        expected += mine
    per_kind, overall = figures(matchings, expected)
    return Evaluation(camera.id, outcome, files, expected, matchings, per_kind, overall, slack_s)

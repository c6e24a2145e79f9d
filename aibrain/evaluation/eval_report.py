"""The evaluation's HTML page (evaluation.html) beside the replay's own report of the same incidents.

The page shows the figures per kind, each false alarm with its evidence snapshot and why it is false, and
each miss with the frame at its window's end, the truth box drawn on it. It is made of the replay
report's pieces (its style, filters, thumbnails, report context), and report.html, incidents.csv/.json
and evidence/ from the replay report stand beside it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace
from pathlib import Path

import av
import cv2
import numpy as np

from aibrain.evaluation.eval_run import GAP_S, Evaluation, evaluated_span
from aibrain.evaluation.matching import FalseAlarm, Figures, Miss
from aibrain.evaluation.truth import Box
from aibrain.replay.report import ReportContext, report_context, write_report
from aibrain.replay.report.html import environment
from aibrain.replay.report.images import thumbnail_uri
from aibrain.replay.report.rows import in_report
from aibrain.replay.request import ReplayRequest
from configs.load import Site
from configs.schema import CameraConfig

log = logging.getLogger(__name__)

PAGE = "evaluation.html"
FIGURES = "evaluation.json"
TRUTH_COLOUR = (0, 200, 0)  # BGR: the truth's box, green as "where it should have been found"


@dataclass(frozen=True)
class AlarmRow:
    number: int
    alarm: FalseAlarm
    snapshot: str | None  # relative to the report folder
    thumbnail: str | None  # data URI


@dataclass(frozen=True)
class MissRow:
    number: int
    miss: Miss
    at_s: float  # media time of the frame shown
    picture: str | None  # relative to the report folder
    thumbnail: str | None


def last_frame_at(file: Path, at_s: float) -> np.ndarray | None:
    """The BGR picture of the last frame of `file` at or before media time `at_s` (the first, when none is)."""
    picture = None
    with av.open(str(file)) as container:
        stream = container.streams.video[0]
        container.seek(int(max(at_s - 2.0, 0.0) * av.time_base), backward=True)  # a keyframe before it
        for frame in container.decode(stream):
            if picture is not None and frame.time is not None and frame.time > at_s:
                break
            picture = frame.to_ndarray(format="bgr24")
    return picture


def draw_box(picture: np.ndarray, box: Box, label: str) -> np.ndarray:
    height, width = picture.shape[:2]
    x1, y1, x2, y2 = (round(v * s) for v, s in zip(box, (width, height, width, height), strict=True))
    drawn = picture.copy()
    cv2.rectangle(drawn, (x1, y1), (x2, y2), TRUTH_COLOUR, 2)
    cv2.putText(drawn, label, (x1 + 2, max(y1 - 4, 12)), cv2.FONT_HERSHEY_SIMPLEX, 0.45, TRUTH_COLOUR, 1,
                cv2.LINE_AA)
    return drawn


def miss_picture(miss: Miss, end_s: float, number: int, report_dir: Path) -> MissRow:
    """The frame at the miss's window end (within the file) with the truth box, written under misses/."""
    expected = miss.expected
    assert expected.window is not None
    at_s = min(expected.window[1], end_s)
    name = f"misses/{number:04d}_{expected.object.kind}.jpg"
    try:
        picture = last_frame_at(Path(expected.file), at_s)
    except (av.FFmpegError, OSError, IndexError) as exc:  # IndexError: no video stream
        log.warning("miss #%d: no frame from %s: %s", number, expected.file, exc)
        picture = None
    if picture is None:
        return MissRow(number, miss, at_s, None, None)
    if expected.object.box is not None:
        picture = draw_box(picture, expected.object.box, expected.object.id)
    (report_dir / name).parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(report_dir / name), picture)
    return MissRow(number, miss, at_s, name, thumbnail_uri(report_dir / name))


def alarm_row(alarm: FalseAlarm, number: int, report_dir: Path) -> AlarmRow:
    snapshot = Path(alarm.incident.snapshot) if alarm.incident.snapshot else None
    if snapshot is None or not snapshot.is_file():
        return AlarmRow(number, alarm, None, None)
    return AlarmRow(number, alarm, in_report(snapshot, report_dir, "evidence"), thumbnail_uri(snapshot))


def eval_context(site: Site, camera: CameraConfig, evaluation: Evaluation, truth_file: Path) -> ReportContext:
    """The replay report's context, its settings saying how the evaluation replayed and matched."""
    context = report_context(site, camera, ReplayRequest(files=[f.file for f in evaluation.files],
                                                         camera_id=camera.id))
    slack = f"{evaluation.slack_s:g} s"
    changed = {
        "media range": "; ".join(f"{f.file.name} {f.entry.range[0]:g}–{f.entry.range[1]:g} s" if f.entry.range
                                 else f"{f.file.name} whole" for f in evaluation.files),
        "timeline origin": f"the first file's modification time; each file alone, {GAP_S:g} s after the one before",
    }
    settings = [("truth file", str(truth_file)),
                ("confirm windows", f"arrival + the rule's dwell_s − {slack} .. leaving (or the end) + {slack}"),
                *((what, changed.get(what, value)) for what, value in context.settings)]
    return replace(context, settings=settings)


def write_eval_report(site: Site, camera: CameraConfig, evaluation: Evaluation, truth_file: Path,
                      report_dir: Path) -> Path:
    """Writes report_dir/evaluation.html (and evaluation.json, misses/) beside the replay's report.html;
    returns the evaluation page's path."""
    context = eval_context(site, camera, evaluation, truth_file)
    write_report(evaluation.outcome, context, report_dir)
    ends = {str(f.file): evaluated_span(replayed)[1]
            for f, replayed in zip(evaluation.files, evaluation.outcome.files, strict=False)}
    alarms = [alarm_row(alarm, number, report_dir) for number, alarm in enumerate(evaluation.false_alarms, 1)]
    misses = [miss_picture(miss, ends.get(miss.expected.file, float("inf")), number, report_dir)
              for number, miss in enumerate(evaluation.misses, 1)]
    (report_dir / FIGURES).write_text(json.dumps(evaluation.as_json(truth_file), ensure_ascii=False, indent=1)
                                      + "\n", encoding="utf-8")
    kinds: list[tuple[str, str, Figures]] = [(kind, site.kinds[kind].label_zh if kind in site.kinds else "", f)
                                             for kind, f in evaluation.per_kind.items()]
    page = environment(context).get_template("evaluation.html.j2").render(
        context=context, evaluation=evaluation, truth_file=truth_file, kinds=kinds, alarms=alarms, misses=misses)
    path = report_dir / PAGE
    path.write_text(page, encoding="utf-8")
    return path

"""`aibrain eval incidents --truth TRUTH.yaml FILE... --config SITE --camera ID`: arguments and output.

Exit 0 when the evaluation ran (whatever the figures), 2 for bad input (the site, the truth, a FILE), and
the replay's own failure codes otherwise (1 a file could not be read, 3 one was cut short, 130 Ctrl-C).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from aibrain.evaluation.dwells import object_dwells
from aibrain.evaluation.eval_report import write_eval_report
from aibrain.evaluation.eval_run import EvalFile, Evaluation, evaluate, frame_size
from aibrain.evaluation.matching import Figures
from aibrain.evaluation.truth import entries_for, load_truth
from aibrain.replay.inputs import ReplayInputError, video_files
from aibrain.replay.replay_run import EXIT_USAGE
from aibrain.site_loading import exit_with_problems, load_or_exit
from common.redact import redact_url
from configs.problems import ConfigError

SLACK_FRAMES_S = 0.5  # beyond one frame interval: the default slack is 1/detect_fps + this


def add_arguments(parser: argparse.ArgumentParser) -> None:
    verbs = parser.add_subparsers(dest="eval_command", required=True)
    incidents = verbs.add_parser(
        "incidents", help="replay files and score the incidents against labelled truth",
        description="Replays FILEs through the camera's zones and rules and matches the incidents against the "
                    "truth file: precision, recall, F1 and time to confirm per kind, each false alarm and miss. "
                    "Exit 0 when it ran, 2 for bad input, the replay's failure codes otherwise.")
    incidents.add_argument("files", type=Path, nargs="+", metavar="FILE",
                           help="video files (or folders of them), each named by an entry of the truth file")
    incidents.add_argument("--truth", type=Path, required=True, metavar="TRUTH.yaml",
                           help="what really stands in each file (format: aibrain/evaluation/truth.py)")
    incidents.add_argument("--config", type=Path, required=True, help="the site file")
    incidents.add_argument("--camera", required=True, help="camera whose zones and rules apply")
    incidents.add_argument("--report", type=Path, metavar="DIR",
                           help="write an HTML page with the figures, false alarms and misses here")
    incidents.add_argument("--json", type=Path, metavar="FILE", help="write the figures here as JSON")
    incidents.add_argument("--slack-s", type=float, metavar="S",
                           help="seconds a window is widened by on each side (default: 1/detect_fps + 0.5)")
    incidents.add_argument("--no-progress", action="store_true", help="no progress bars")
    incidents.add_argument("--full-size-detect", action="store_true",
                           help="the detector sees the full-size picture, not one shrunk to the model's input "
                           "(the path before issue 13), to compare figures")


def run(args: argparse.Namespace) -> int:
    site = load_or_exit(args.config)
    try:
        camera = site.camera(args.camera)
        files = video_files(args.files)
    except (KeyError, ReplayInputError) as exc:
        print(f"error: {redact_url(exc.args[0])}", file=sys.stderr)
        return EXIT_USAGE
    if args.slack_s is not None and not args.slack_s >= 0:
        print(f"error: --slack-s {args.slack_s:g}: must be 0 or more", file=sys.stderr)
        return EXIT_USAGE
    try:
        truth, raw = load_truth(args.truth)
        entries = entries_for(args.truth, truth, files)
        dwells = object_dwells(site, camera, args.truth, truth, raw, entries)
    except ConfigError as exc:
        exit_with_problems(exc.problems, args.truth)
    slack_s = args.slack_s if args.slack_s is not None else 1 / camera.detect_fps + SLACK_FRAMES_S
    report_dir: Path | None = args.report
    evaluation = evaluate(site, camera, [EvalFile(f, e, frame_size(f)) for f, e in zip(files, entries, strict=True)],
                          dwells, slack_s, progress=not args.no_progress,
                          evidence_dir=report_dir / "evidence" if report_dir else None,
                          full_size_detect=args.full_size_detect)
    print_figures(evaluation)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(evaluation.as_json(args.truth), ensure_ascii=False, indent=1) + "\n",
                             encoding="utf-8")
        print(f"figures: {args.json}")
    if report_dir:
        print(f"report: {write_eval_report(site, camera, evaluation, args.truth, report_dir)}")
    for failed in evaluation.outcome.failed:
        print(f"error: {redact_url(str(failed.error))}", file=sys.stderr)
    for damaged in evaluation.outcome.damaged:
        print(f"warning: {redact_url(f'{damaged.file} (camera {camera.id}): {damaged.damage}')}; "
              "the incidents found in it are counted", file=sys.stderr)
    return evaluation.exit_code


def rate(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def print_figures(evaluation: Evaluation) -> None:
    """The table per kind and overall, then each false alarm and miss, on stdout."""
    table = Table(title=f"incidents of camera {evaluation.camera_id} against the truth "
                        f"(windows widened by {evaluation.slack_s:g} s)")
    for column in ("kind", "TP", "FP", "FN", "dup", "precision", "recall", "F1", "ttc median s", "ttc p90 s"):
        table.add_column(column, justify="left" if column == "kind" else "right")

    def row(name: str, figures: Figures) -> None:
        table.add_row(name, str(figures.tp), str(figures.fp), str(figures.fn), str(figures.duplicates),
                      rate(figures.precision), rate(figures.recall), rate(figures.f1),
                      seconds(figures.ttc_percentile(50)), seconds(figures.ttc_percentile(90)))

    for kind, figures in evaluation.per_kind.items():
        row(kind, figures)
    table.add_section()
    row("overall", evaluation.overall)
    console = Console(width=max(Console().width, 110), highlight=False)
    console.print(table)
    for alarm in evaluation.false_alarms:
        seen = alarm.incident
        console.print(f"false alarm: {Path(seen.file).name} {seen.kind} at {seen.media_time_s:.1f} s: {alarm.why}"
                      + (f" ({alarm.object})" if alarm.object else ""), markup=False)
    for miss in evaluation.misses:
        window = miss.expected.window or (0.0, 0.0)
        console.print(f"miss: {Path(miss.expected.file).name} {miss.expected.object.id} ({miss.expected.object.kind}) "
                      f"not confirmed in {window[0]:.1f}–{window[1]:.1f} s", markup=False)

"""`aibrain dataset export --config SITE --since DATE [--until DATE] --out DIR`: arguments, the site's
database opened read-only in spirit (never created, never migrated), and what the export prints.

Dates are the site's local days (its `timezone`): `--since 2026-05-01` starts at that midnight,
`--until 2026-05-31` takes the whole of that day; a date and time (2026-05-01T08:30, with or without
an offset) is taken as it is, `--until` excluding it.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.engine import make_url

from aibrain.database_unavailable import exit_if_unavailable
from aibrain.dataset.dataset_export import ExportRequest, ExportResult, export_dataset
from aibrain.dataset.layout import TRUTH_STUB, OutRefused
from aibrain.dataset.schema_check import schema_behind
from aibrain.dataset.verdicts import TimeRange
from aibrain.site_loading import EXIT_CONFIG, load_or_exit
from common.redact import redact_url
from routing.incidents.database import make_engine, session_factory

EXIT_USAGE = EXIT_CONFIG  # bad input, as a bad site file


def day_or_time(text: str) -> date | datetime:
    """A date (2026-05-01) or a date and time (2026-05-01T08:30, 2026-05-01T08:30+08:00)."""
    try:
        return date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date like 2026-05-01 or a date and time like 2026-05-01T08:30") from None


def share(text: str) -> float:
    """A val share: 0 (everything trains) up to, not including, 1."""
    value = _number(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"give a share from 0 up to (not including) 1; got {text!r}")
    return value


def confidence(text: str) -> float:
    value = _number(text)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"give a confidence above 0, at most 1; got {text!r}")
    return value


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    verbs = parser.add_subparsers(dest="dataset_command", required=True)
    export = verbs.add_parser(
        "export", help="verified incidents and false alarms as an Ultralytics YOLO dataset",
        description="Verified incidents (positives, with every detection of their kept frame labelled) and "
                    "false alarms of the wrong object (hard negatives) as an Ultralytics YOLO dataset: "
                    "images/ and labels/ split by camera-day, data.yaml, and a dataset card.")
    export.add_argument("--config", type=Path, required=True, help="the site whose database and evidence are read")
    export.add_argument("--since", type=day_or_time, required=True, metavar="DATE",
                        help="incidents confirmed from this local day (or date and time) on")
    export.add_argument("--until", type=day_or_time, metavar="DATE",
                        help="up to the end of this local day (a date and time: up to that instant)")
    export.add_argument("--out", type=Path, required=True, metavar="DIR", help="a new or empty folder")
    export.add_argument("--label-conf", type=confidence, default=0.25, metavar="CONF",
                        help="positives label the frame's detections at this confidence or more (default 0.25)")
    export.add_argument("--val-share", type=share, default=0.2, metavar="SHARE",
                        help="share of camera-days held out for validation (default 0.2)")
    export.add_argument("--force", action="store_true", help="replace a previous export in --out")


def local_instant(value: date | datetime, tz: ZoneInfo, day_end: bool = False) -> datetime:
    """A date's local midnight (the next day's with `day_end`); a naive date and time in `tz`."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=tz)
    return datetime.combine(value + timedelta(days=1) if day_end else value, time(), tz)


def command_line(args: argparse.Namespace) -> str:
    words = ["aibrain", "dataset", "export", "--config", str(args.config), "--since", args.since.isoformat()]
    if args.until is not None:
        words += ["--until", args.until.isoformat()]
    words += ["--out", str(args.out), "--label-conf", f"{args.label_conf:g}", "--val-share", f"{args.val_share:g}"]
    return shlex.join(words + (["--force"] if args.force else []))


def fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_USAGE


def run(args: argparse.Namespace) -> int:
    site = load_or_exit(args.config)
    tz = site.config.tz
    span = TimeRange(local_instant(args.since, tz), local_instant(args.until, tz, day_end=True)
                     if args.until is not None else None)
    if span.until is not None and span.until <= span.since:
        return fail(f"--until {args.until.isoformat()} is not after --since {args.since.isoformat()}")
    url = site.database_url()
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and not Path(parsed.database or "").is_file():
        return fail(f"database {redact_url(url)} of {site.file}: no such file")
    engine = make_engine(url)
    try:
        with exit_if_unavailable(url):
            if behind := schema_behind(engine):
                return fail(f"database {redact_url(url)}: {behind}; run `aibrain db upgrade --config {site.file}` "
                            "first")
            request = ExportRequest(span=span, out=args.out, label_conf=args.label_conf, val_share=args.val_share,
                                    force=args.force, command=command_line(args))
            try:
                result = export_dataset(site, session_factory(engine), request)
            except OutRefused as exc:
                return fail(str(exc))
    finally:
        engine.dispose()
    print_result(result, args.out, tz)
    return 0


def print_result(result: ExportResult, out: Path, tz: ZoneInfo) -> None:
    for row in result.skipped:
        when = row.incident.confirmed_at.astimezone(tz).isoformat(timespec="seconds")
        print(f"warning: incident {row.incident.id} ({row.incident.camera_id}, {when}): {row.why}; skipped",
              file=sys.stderr)
    card = result.card
    images, examples = card["images"], card["examples"]
    print(f"exported {images['train'] + images['val']} images ({images['train']} train, {images['val']} val): "
          f"{examples.get('positive', 0)} positive, {examples.get('hard_negative', 0)} hard negative; "
          f"{len(card['skipped'])} skipped; {card['rule_errors']['count']} rule errors listed in {out / TRUTH_STUB}")
    if result.data_yaml is None:
        print(f"no image to train on: no data.yaml written; the card is {out / 'card.md'}")
        return
    if card["validated_on"] == "images/train":
        print("warning: one camera-day only: validation runs on the training images (no held-out split)",
              file=sys.stderr)
    print(f"dataset {result.data_yaml}\ncard {out / 'card.md'}")

"""The `aibrain` command: run, replay, check-config, db upgrade, models."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from aibrain.logs import setup_logging
from configs.load import ConfigError, Site, load_site

log = logging.getLogger("aibrain")

EXIT_CONFIG = 2


def load_or_exit(path: Path) -> Site:
    try:
        return load_site(path)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        print(f"{len(exc.problems)} problem(s) in {path}", file=sys.stderr)
        raise SystemExit(EXIT_CONFIG) from None


def cmd_check_config(args: argparse.Namespace) -> int:
    site = load_or_exit(args.file)
    config = site.config
    print(f"{site.file}: OK")
    for camera in config.cameras:
        zones = ", ".join(f"{z.name}{sorted(z.tags)}" for z in camera.zones)
        print(f"  camera {camera.id} ({camera.name}): {camera.decode.value} @ {camera.detect_fps} fps; zones: {zones}")
    for worker in config.workers:
        print(f"  worker {worker.id} ({worker.name}): grids {worker.grids}, shifts {worker.shifts}")
    for rule in config.rules:
        objects = ", ".join(rule.object_kinds())
        print(f"  rule {rule.kind.value}: tags {rule.zone_tags}, dwell {rule.dwell_s:g} s, objects {objects}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from aibrain.live import run_live

    site = load_or_exit(args.config)
    return run_live(site, shard=args.shard)


def cmd_replay(args: argparse.Namespace) -> int:
    from aibrain.replay import ReplayRequest, run_replay

    site = load_or_exit(args.config)
    request = ReplayRequest(files=args.files, camera_id=args.camera, json_out=args.json,
                            origin=args.origin, database=args.database, progress=not args.no_progress)
    return run_replay(site, request)


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from routing.migrate import upgrade_to_head

    site = load_or_exit(args.config)
    upgrade_to_head(site.database_url())
    print("database schema is at the newest revision")
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from aibrain import model_commands

    return model_commands.run(args)


def shard_spec(text: str) -> tuple[int, int]:
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--shard takes k/N, e.g. 0/4; got {text!r}") from None
    if not 0 <= index < count:
        raise argparse.ArgumentTypeError(f"--shard k/N needs 0 <= k < N; got {text!r}")
    return index, count


def iso_datetime(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"give a timezone offset, e.g. {text}+08:00")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aibrain", description=__doc__)
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    commands = parser.add_subparsers(dest="command", required=True)

    def add(name: str, handler: Callable[[argparse.Namespace], int] | None, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        if handler is not None:
            sub.set_defaults(handler=handler)
        return sub

    check = add("check-config", cmd_check_config, "validate a site file; print every problem, exit 2 if any")
    check.add_argument("file", type=Path)

    run = add("run", cmd_run, "watch all cameras of the site until SIGINT/SIGTERM")
    run.add_argument("--config", type=Path, required=True)
    run.add_argument("--shard", type=shard_spec, default=(0, 1),
                     help="k/N: run only the cameras whose stable hash falls in shard k of N")

    replay = add("replay", cmd_replay, "run recorded files through a camera's zones and rules, as fast as possible")
    replay.add_argument("files", type=Path, nargs="+")
    replay.add_argument("--config", type=Path, required=True)
    replay.add_argument("--camera", required=True, help="camera whose zones and rules apply")
    replay.add_argument("--json", type=Path, help="write one JSON line per incident here")
    replay.add_argument("--origin", type=iso_datetime,
                        help="wall time of the first file's start (default: the file's modification time)")
    replay.add_argument("--database", help="database URL for the replay's incidents (default: a temporary SQLite)")
    replay.add_argument("--no-progress", action="store_true", help="no progress bar")

    db = add("db", None, "database schema")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    upgrade = db_commands.add_parser("upgrade", help="migrate the site database to the newest schema")
    upgrade.add_argument("--config", type=Path, required=True)
    upgrade.set_defaults(handler=cmd_db_upgrade)

    models = add("models", cmd_models, "model cards and weights")
    model_commands = models.add_subparsers(dest="models_command", required=True)
    listing = model_commands.add_parser("list", help="shipped model cards and whether weights are found")
    listing.add_argument("--config", type=Path, help="site whose model_dirs are searched too")
    path = model_commands.add_parser("path", help="print the weights file a card resolves to")
    path.add_argument("card")
    path.add_argument("--config", type=Path, help="site whose model_dirs are searched too")
    fetch = model_commands.add_parser("fetch", help="download official weights with Ultralytics, export ONNX")
    fetch.add_argument("card")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.log_level)
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())

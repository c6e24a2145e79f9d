"""The `aibrain` command: run, web, users, replay, eval, check-config, db upgrade, worker, models, dataset,
broker provision."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from aibrain.broker_setup import provision_command
from aibrain.broker_setup.provision_command import ADMIN_URL_VARIABLE
from aibrain.database_unavailable import exit_if_unavailable
from aibrain.dataset import dataset_command
from aibrain.evaluation import eval_command
from aibrain.live.live_run import run_live
from aibrain.logs import setup_logging
from aibrain.model_tools import model_commands
from aibrain.redacted_output import redacted_output
from aibrain.replay.inputs import Speed, media_time_argument
from aibrain.replay.replay_run import run_replay
from aibrain.replay.request import ReplayRequest
from aibrain.site_loading import exit_with_problems, load_or_exit
from aibrain.web import server as web_server
from aibrain.web import user_commands
from aibrain.web.user_commands import add_arguments as add_users_arguments
from aibrain.web.workbench import Workbench
from aibrain.worker import worker_commands
from aibrain.worker.arguments import add_arguments as add_worker_arguments
from common.redact import redact_url
from configs.checks import check_evidence_dir
from configs.problems import ConfigError
from configs.schema import WebConfig
from detector.model_card import USER_MODEL_DIR
from routing.assign.organisation import organisation_summary
from routing.incidents.migrate import upgrade_to_head

# Ultralytics (and PyTorch) stay unimported here: the model commands import them on first use (model_tools/yolo.py).


def cmd_check_config(args: argparse.Namespace) -> int:
    site = load_or_exit(args.file)
    config = site.config
    if problems := check_evidence_dir(site.file, site.path(config.evidence_dir)):
        exit_with_problems(problems, args.file)
    print(f"{site.file}: OK")
    for camera in config.cameras:
        zones = ", ".join(f"{z.name}{sorted(z.tags)}" for z in camera.zones)
        detect = (f"; detects on the sub-stream {redact_url(camera.detect_url.get_secret_value())}"
                  if camera.detect_url is not None else "")
        print(f"  camera {camera.id} ({camera.name}): {camera.decode.value} on {camera.decode_device.value} "
              f"@ {camera.detect_fps} fps; zones: {zones}{detect}")
    for worker in config.workers:
        print(f"  worker {worker.id} ({worker.name}): grids {worker.grids}, shifts {worker.shifts}")
    for rule in config.rules:
        resolved = site.resolved_rule(rule)
        settings = ", ".join(f"{name} {value}" for name, value in sorted(resolved.params.items())
                             if name not in ("objects", "groups"))
        print(f"  rule {rule.kind} ({site.kinds[rule.kind].label_zh}): {resolved.type} in zones tagged "
              f"{rule.zone_tags}; objects {', '.join(resolved.object_kinds())}; {settings}")
    escalation = config.escalation
    for grid_id, chain in [*escalation.grids.items(), ("other grids", escalation.default)]:
        if chain:
            print(f"  escalation {grid_id}: {' -> '.join(chain)}")
    for line in organisation_summary(site.organisation()):
        print(f"  {line}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    site = load_or_exit(args.config)
    try:
        with exit_if_unavailable(site.database_url()):
            return run_live(site, shard=args.shard)
    except ConfigError as exc:  # found only when starting: the metrics port taken
        exit_with_problems(exc.problems, args.config)


def cmd_replay(args: argparse.Namespace) -> int:
    site = load_or_exit(args.config)
    request = ReplayRequest(files=args.files, camera_id=args.camera, json_out=args.json,
                            origin=args.origin, database=args.database, progress=not args.no_progress,
                            start_s=args.start, end_s=args.end, speed=Speed(args.speed),
                            report_dir=args.report, clips=args.clips)
    return run_replay(site, request)


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    site = load_or_exit(args.config)
    with exit_if_unavailable(site.database_url()):
        upgrade_to_head(site.database_url())
    print("database schema is at the newest revision")
    return 0


def cmd_web(args: argparse.Namespace) -> int:
    site = load_or_exit(args.config)
    web = site.config.web or WebConfig()
    try:
        with exit_if_unavailable(site.database_url()):
            upgrade_to_head(site.database_url())
            return web_server.serve(Workbench.build(site), args.host or web.host, args.port or web.port)
    except ConfigError as exc:  # the port taken
        exit_with_problems(exc.problems, args.config)


def cmd_users(args: argparse.Namespace) -> int:
    return user_commands.run(args, load_or_exit(args.config))


def cmd_worker(args: argparse.Namespace) -> int:
    return worker_commands.run(args, load_or_exit(args.config))


def cmd_models(args: argparse.Namespace) -> int:
    return model_commands.run(args)


def cmd_eval(args: argparse.Namespace) -> int:
    return eval_command.run(args)


def cmd_dataset(args: argparse.Namespace) -> int:
    return dataset_command.run(args)


def cmd_broker(args: argparse.Namespace) -> int:
    return provision_command.run(args)


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


def positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"give a number above 0; got {text!r}")
    return value


def port_number(text: str) -> int:
    value = positive_int(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"give a port 1..65535; got {text!r}")
    return value


def image_size(text: str) -> int:
    value = positive_int(text)
    if value % 32:
        raise argparse.ArgumentTypeError(f"give a multiple of 32 (the model's stride); got {text!r}")
    return value


def add_model_commands(models: argparse.ArgumentParser) -> None:
    verbs = models.add_subparsers(dest="models_command", required=True)

    def verb(name: str, help_text: str, searches: bool = True) -> argparse.ArgumentParser:
        sub = verbs.add_parser(name, help=help_text, description=help_text)
        if searches:
            sub.add_argument("--config", type=Path, help="site whose model_dirs are searched for weights too")
            sub.add_argument("--model-dir", type=Path, action="append", default=[], metavar="DIR",
                             help="search DIR for weights and cards first (repeatable)")
        return sub

    def size_and_device(sub: argparse.ArgumentParser, what: str) -> None:
        sub.add_argument("--imgsz", type=image_size, help=f"{what} image side in pixels (default: the card's)")
        sub.add_argument("--device", help="Ultralytics device: cpu, 0, 0,1 ... (default: a GPU if there is one)")

    verb("list", "model cards (shipped, and those in the model directories) and where their weights are")
    path = verb("path", "print the weights file a card resolves to")
    path.add_argument("card", help="a shipped card's name or a card file's path")
    fetch = verb("fetch", "download a card's official weights with Ultralytics (needs network), export ONNX",
                 searches=False)
    fetch.add_argument("card")
    export = verb("export", "export a card's .pt weights to ONNX for the ONNX Runtime backend")
    export.add_argument("card", help="a shipped card's name or a card file's path")
    export.add_argument("--format", choices=["onnx"], default="onnx")
    export.add_argument("--dynamic", "--dynamic-batch", dest="dynamic_batch", action="store_true",
                        help="any batch and any picture size up to --imgsz: rectangular inference (a 16:9 camera "
                             "runs at 640x384, not 640x640) and batches across cameras (--dynamic-batch: old name)")
    export.add_argument("--half", action="store_true",
                        help="fp16 weights, fp32 input and output: half the file, faster on GPUs, no faster on CPUs")
    export.add_argument("--imgsz", type=image_size, help="input side in pixels (default: the card's input_size)")
    export.add_argument("--out", type=Path, default=USER_MODEL_DIR, help=f"output folder (default {USER_MODEL_DIR})")
    train = verb("train", "fine-tune a card's .pt on a YOLO-format dataset and write the new model's card")
    train.add_argument("--data", type=Path, required=True, help="Ultralytics dataset YAML (path, train, val, names)")
    train.add_argument("--base", required=True, help="card whose .pt weights training starts from, e.g. yolov8n")
    train.add_argument("--epochs", type=positive_int, default=50)
    size_and_device(train, "training")
    train.add_argument("--batch", type=positive_int, default=16, help="images per training step")
    train.add_argument("--name", help="the new card's name (default: DATASET-BASE)")
    train.add_argument("--out", type=Path, default=USER_MODEL_DIR,
                       help=f"models directory for the card, weights and run (default {USER_MODEL_DIR})")
    evaluate = verb("eval", "mAP and per-class precision/recall of a card's weights on a dataset's val split")
    evaluate.add_argument("card", help="a shipped card's name or a card file's path")
    evaluate.add_argument("--data", type=Path, required=True, help="Ultralytics dataset YAML")
    size_and_device(evaluate, "validation")
    evaluate.add_argument("--json", type=Path, metavar="FILE", help="also write the metrics here as JSON")


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

    replay = add("replay", cmd_replay, "run recorded files through a camera's zones and rules, by media time")
    replay.add_argument("files", type=Path, nargs="+", metavar="FILE_OR_FOLDER",
                        help="video files, or folders whose video files (sub-folders too) are replayed in name order")
    replay.add_argument("--config", type=Path, required=True)
    replay.add_argument("--camera", required=True, help="camera whose zones and rules apply")
    replay.add_argument("--start", type=media_time_argument, metavar="TIME",
                        help="media time to start each file at: seconds (90.5) or H:MM:SS (0:01:30)")
    replay.add_argument("--end", type=media_time_argument, metavar="TIME", help="media time to end each file at")
    replay.add_argument("--speed", choices=[speed.value for speed in Speed], default=Speed.MAX.value,
                        help="max: as fast as the machine allows; realtime: paced like a camera")
    replay.add_argument("--json", type=Path, help="write one JSON line per incident here")
    replay.add_argument("--report", type=Path, metavar="DIR",
                        help="write report.html, incidents.csv, incidents.json and the evidence into DIR")
    replay.add_argument("--clips", action="store_true",
                        help="with --report: a short MP4 from 5 s before to 2 s after each confirmation")
    replay.add_argument("--origin", type=iso_datetime,
                        help="wall time of the first file's start; the next files follow on from it "
                             "(default: each file's modification time)")
    replay.add_argument("--database", help="database URL for the replay's incidents (default: a temporary SQLite)")
    replay.add_argument("--no-progress", action="store_true", help="no progress bars")

    evaluate = add("eval", cmd_eval, "measure the rules: incidents of recorded files scored against labelled truth")
    eval_command.add_arguments(evaluate)

    web = add("web", cmd_web, "the command centre's workbench: map, live incidents, actions (until SIGINT/SIGTERM)")
    web.add_argument("--config", type=Path, required=True)
    web.add_argument("--host", help="address to listen on (default: the site's web.host, else 127.0.0.1)")
    web.add_argument("--port", type=port_number, help="port (default: the site's web.port, else 8080)")

    users = add("users", cmd_users, "the workbench's users: add one, set a password, disable, list")
    add_users_arguments(users)

    worker = add("worker", cmd_worker, "a grid worker's inbox: list alerts, accept and resolve incidents")
    add_worker_arguments(worker)

    db = add("db", None, "database schema")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    upgrade = db_commands.add_parser("upgrade", help="migrate the site database to the newest schema")
    upgrade.add_argument("--config", type=Path, required=True)
    upgrade.set_defaults(handler=cmd_db_upgrade)

    models = add("models", cmd_models, "model cards and weights: list, find, fetch, export, train, evaluate")
    add_model_commands(models)

    dataset = add("dataset", cmd_dataset, "training data from the field: confirmed incidents and false alarms")
    dataset_command.add_arguments(dataset)

    broker = add("broker", None, "RabbitMQ users, permissions and topology")
    broker_commands = broker.add_subparsers(dest="broker_command", required=True)
    provision = broker_commands.add_parser(
        "provision", help="create the pipeline's and each worker's user with least permissions; declare the topology")
    provision.add_argument("--config", type=Path, required=True)
    backend = provision.add_mutually_exclusive_group()
    backend.add_argument("--admin-url", default=os.environ.get(ADMIN_URL_VARIABLE),
                         help=f"management API, http(s)://admin:password@host:15672 (default: ${ADMIN_URL_VARIABLE})")
    backend.add_argument("--rabbitmqctl", nargs="?", const="rabbitmqctl", metavar="PATH",
                         help="administer with rabbitmqctl on this host instead of the management API")
    provision.add_argument("--credentials-out", type=Path, metavar="FILE",
                           help="worker URLs with generated passwords go here (mode 0600); passwords in it are kept")
    provision.set_defaults(handler=cmd_broker)
    return parser


def main(argv: list[str] | None = None) -> int:
    with redacted_output():  # argparse and every command echo values: none may print a password
        args = build_parser().parse_args(argv)
        setup_logging(args.log_level)
        return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())

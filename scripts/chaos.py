#!/usr/bin/env python3
"""Chaos run: `aibrain run` with 4 RTSP cameras, PostgreSQL and RabbitMQ, under random faults; is
every violation it confirmed exactly one incident and exactly one alert in its worker's queue?

Everything runs on loopback and is the run's own: a private PostgreSQL cluster and RabbitMQ node
(never the machine's shared ones), one GStreamer RTSP server per camera looping a clip of parked
bikes that come and go (scripts/lib/chaos_site.py), and the pipeline started through
scripts/lib/chaos_run.py, which can kill one of its role threads. For --minutes a schedule drawn
from --seed stops and starts the broker and the database, kills and restarts a camera's RTSP
server, kills a role thread, and stops `aibrain run` with SIGTERM and starts it again; the kinds
may overlap (scripts/lib/chaos_faults.py). Then the cameras are stopped, the outbox is left to
drain, the run is stopped, and each `violation <id> confirmed` line of its log is looked for in
the database and in the queues (scripts/lib/chaos_tally.py).

Prints each fault as it happens, then faults injected, violations, incidents, alerts, lost and
duplicated (the goal: 0 and 0). Exits 1 when anything was lost or duplicated, or nothing was
confirmed at all; 2 when it cannot run here (needs root, RabbitMQ, PostgreSQL and GStreamer's RTSP
server, as the fault tests do).

Usage: .venv/bin/python scripts/chaos.py [--minutes 10] [--seed N] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Mapping
from contextlib import ExitStack
from pathlib import Path

from aibrain.assemble import intake_spool
from aibrain.assets import asset
from configs.load import load_site

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a file: `scripts.lib` from the checkout
from scripts.lib import chaos_faults, chaos_site, private_services, rtsp_camera  # noqa: E402
from scripts.lib.chaos_rig import PipelineProcess, Rig  # noqa: E402
from scripts.lib.chaos_tally import Tally, check  # noqa: E402
from scripts.lib.workdir import in_workdir  # noqa: E402

SHOWN = 10  # loss and duplicate lines printed in full


def say(text: str) -> None:
    print(text, flush=True)


def counted(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{name} {count}" for name, count in sorted(counts.items())) or "none"


def report(injected: Mapping[str, int], result: Tally, unsent: int | None, pipeline: PipelineProcess,
           log_text: str) -> None:
    errors = sum(1 for line in log_text.splitlines() if " ERROR " in line or line.startswith("Traceback"))
    say(f"aibrain run: started {pipeline.starts} time(s); exit codes after SIGTERM {pipeline.exits}; "
        f"exited on its own {len(pipeline.unexpected_exits)} time(s) {pipeline.unexpected_exits}; "
        f"{errors} error line(s) in its log")
    say(f"outbox unsent after the drain: {'unknown (database unreadable)' if unsent is None else unsent}")
    for name, path in (("left in the intake's spool", pipeline.spool.path),
                       ("parked by the intake (refused as data)", pipeline.spool.parked_path)):
        if path.exists():
            say(f"{name}: {len(path.read_text(encoding='utf-8').splitlines())} line(s) in {path}")
    hits = log_text.count("chaos: killed role thread ")
    say(f"faults injected: {sum(injected.values())} ({counted(injected)}); thread kills that hit a live thread: {hits}")
    say(f"violations: {result.violations}")
    say(f"incidents: {result.incidents}")
    say(f"alerts: {sum(result.alerts.values())} ({counted(result.alerts)}); command centre "
        f"{result.command_centre}; redelivered copies (same message id) {result.redelivered}")
    for name, lines in (("lost", result.lost), ("duplicated", result.duplicated)):
        say(f"{name}: {len(lines)}" + "".join(f"\n  {line}" for line in lines[:SHOWN])
            + (f"\n  ... and {len(lines) - SHOWN} more" if len(lines) > SHOWN else ""))


def cannot_run_here() -> str | None:
    if not rtsp_camera.gi_rtsp_available():
        return f"{rtsp_camera.SYSTEM_PYTHON} cannot import GStreamer's RTSP server bindings"
    return private_services.can_run_private_services()


def chaos(args: argparse.Namespace, folder: Path) -> int:
    reason = cannot_run_here()
    if reason:
        print(f"chaos: cannot run here: {reason}", file=sys.stderr)
        return 2
    duration_s = args.minutes * 60
    camera_ids = chaos_site.camera_ids(args.cameras)
    faults = chaos_faults.plan(random.Random(args.seed), duration_s, camera_ids)
    say(f"chaos: seed {args.seed}, {args.minutes:g} min, {args.cameras} camera(s), {len(faults)} fault(s) planned; "
        f"files in {folder}")
    with ExitStack() as stack:
        database = stack.enter_context(private_services.PrivatePostgres())
        broker = stack.enter_context(private_services.PrivateRabbitMQ())
        clip = chaos_site.make_clip(args.image, folder / "clip.mp4")
        cameras = {camera: stack.enter_context(rtsp_camera.RtspServer(clip)) for camera in camera_ids}
        site = chaos_site.write_site(folder, [c.url for c in cameras.values()], args.model, database.url, broker.url)
        log_path = folder / "run.log"
        log_path.unlink(missing_ok=True)  # a kept --workdir: this run's lines only
        spool = intake_spool(load_site(site), shard=(0, 1))
        pipeline = PipelineProcess(site, log_path, folder / "kill-thread", spool)
        rig = Rig(broker, database, cameras, pipeline, say)
        stack.callback(rig.stop_run_if_running)
        started = time.monotonic()
        pipeline.start()
        injected = chaos_faults.play(rig, faults, duration_s, started)
        say(f"+{time.monotonic() - started:6.1f} s  faults over: cameras stopped, the outbox drains")
        unsent = rig.drain()
        rig.stop_run()
        log_text = log_path.read_text(encoding="utf-8", errors="replace")
        result = check(log_text, database.url, broker.url)
    report(injected, result, unsent, pipeline, log_text)
    return 1 if result.lost or result.duplicated or not result.violations else 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0, help="how long faults are injected (default 10)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the fault schedule (default 1)")
    parser.add_argument("--cameras", type=int, default=4, help="RTSP cameras (default 4)")
    parser.add_argument("--image", type=Path,
                        help="still of parked bikes (default: footage/images/zeyan_sharedbike_main1.jpg)")
    parser.add_argument("--model", type=Path, help="ONNX weights (default: models/yolov8n_coco_dq.onnx)")
    parser.add_argument("--workdir", type=Path, help="keep the site, clip and log here (default: a temporary folder)")
    args = parser.parse_args(argv)
    if args.minutes <= 0 or args.cameras < 1:
        parser.error("--minutes and --cameras must be positive")
    args.image = (args.image or asset("footage/images/zeyan_sharedbike_main1.jpg")).resolve()
    args.model = (args.model or asset("models/yolov8n_coco_dq.onnx")).resolve()
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return in_workdir(args.workdir, "aibrain-chaos-", lambda folder: chaos(args, folder))


if __name__ == "__main__":
    sys.exit(main())

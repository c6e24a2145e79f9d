#!/usr/bin/env python3
"""Soak run: N looped file or RTSP cameras through `aibrain run` for a while; does anything grow?

Writes a temporary site (parking rules over the whole frame with a short dwell, so incidents
happen), starts `aibrain run` as a subprocess, samples its RSS (/proc/PID/status VmRSS), open file
descriptors (/proc/PID/fd) and threads every --sample-every seconds, stops it with SIGTERM and
prints: the samples' range, growth per hour after the warm-up (least-squares slope; the target
for RSS is < 1 MB/h), frames detected/dropped from the run's last status line, and incidents and
camera events from the database. Exits 1 if the run died, or did not exit 0 on SIGTERM.

In --source rtsp mode each camera is its own RTSP server (scripts/lib/rtsp_camera.py: GStreamer,
under Debian's /usr/bin/python3) looping the clip, re-encoded to H.264 first when it is not.

Usage: .venv/bin/python scripts/soak.py --cameras 4 --minutes 10 [--source rtsp] [--clip PATH]
"""

from __future__ import annotations

import argparse
import ast
import csv
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter
from contextlib import ExitStack, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import av
import yaml
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from aibrain.assets import asset
from common.redact import redact_url
from routing.incidents.database import make_engine
from routing.incidents.tables import CameraEvent, Incident

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a file: `scripts.lib` from the checkout
from scripts.lib.rtsp_camera import RtspServer  # noqa: E402
from scripts.lib.workdir import in_workdir  # noqa: E402

STOP_TIMEOUT_S = 90.0  # `aibrain run` joins each role for up to 15 s
EXIT_GRACE_S = 10.0  # a process gone from /proc is reaped within this
RSS_TARGET_MB_H = 1.0  # DESIGN.md: memory flat, < 1 MB growth per hour after warm-up
_STATUS = re.compile(r"status: frames detected (?P<frames>\{.*?\}), dropped (?P<dropped>\{.*?\}), "
                     r"incidents (?P<incidents>\d+), outbox unsent (?P<unsent>\d+)")


@dataclass(frozen=True)
class Sample:
    t_s: float  # since `aibrain run` started
    rss_mb: float
    fds: int
    threads: int


def take_sample(pid: int, t_s: float) -> Sample | None:
    """The process's RSS, fds and threads now; None once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        fds = len(os.listdir(f"/proc/{pid}/fd"))
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    if "VmRSS" not in fields:  # a zombie: exited, not yet reaped
        return None
    return Sample(t_s, int(fields["VmRSS"].split()[0]) / 1024, fds, int(fields["Threads"]))


def write_samples(path: Path, samples: list[Sample]) -> None:
    """The samples as CSV (kept with --workdir), for a closer look at the curve than one slope."""
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["t_s", "rss_mb", "fds", "threads"])
        writer.writerows((f"{s.t_s:.1f}", f"{s.rss_mb:.2f}", s.fds, s.threads) for s in samples)


def per_hour(samples: list[Sample], attribute: str) -> float:
    """Least-squares slope of `attribute` against time, per hour."""
    hours = [s.t_s / 3600 for s in samples]
    return statistics.linear_regression(hours, [float(getattr(s, attribute)) for s in samples]).slope


def write_site(folder: Path, urls: list[str], args: argparse.Namespace, database: str) -> Path:
    """A site whose rules fire on any parked vehicle anywhere in the picture after `dwell_s`."""
    lon, lat, size = 121.47, 31.23, 0.01
    grids = {"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"id": "G-01", "name": "soak", "street": "外滩街道", "community": "汇丰社区"},
        "geometry": {"type": "Polygon", "coordinates": [[[lon, lat], [lon + size, lat], [lon + size, lat + size],
                                                         [lon, lat + size], [lon, lat]]]}}]}
    (folder / "grids.geojson").write_text(json.dumps(grids), encoding="utf-8")
    is_file = args.source == "file"
    site = {
        "database": database, "model": str(args.model), "model_card": "yolov8n", "grids": "grids.geojson",
        "evidence_dir": str(folder / "evidence"),
        "workers": [{"id": "w-soak", "name": "soak", "grids": ["G-01"], "shifts": ["Mon-Sun 00:00-24:00"]}],
        "cameras": [{"id": f"soak-{index:02d}", "name": f"soak {index}", "url": url, "loop": is_file,
                     "decode": "sampled", "detect_fps": args.detect_fps, "location": [lon + size / 2, lat + size / 2],
                     "zones": [{"name": "frame", "tags": ["street"], "polygon": [[0, 0], [1, 0], [1, 1], [0, 1]]}]}
                    for index, url in enumerate(urls, start=1)],
        "rules": [{"kind": kind, "zone_tags": ["street"], "dwell_s": args.dwell_s}
                  for kind in ("non_motor_parking", "motor_parking")],
    }
    if args.broker:
        site["broker"] = args.broker
    path = folder / "site.yaml"
    path.write_text(yaml.safe_dump(site, allow_unicode=True), encoding="utf-8")
    return path


def as_h264(clip: Path, folder: Path) -> Path:
    """The clip itself if it is H.264 (what the RTSP server sends without re-encoding), else an
    H.264 copy in `folder`, one keyframe a second."""
    with av.open(str(clip)) as container:
        stream = container.streams.video[0]
        codec, fps = stream.codec_context.name, round(float(stream.average_rate or 25))
    if codec == "h264":
        return clip
    copy = folder / f"{clip.stem}-h264.mp4"
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i", str(clip), "-an", "-c:v", "libx264",
                    "-pix_fmt", "yuv420p", "-g", str(fps), str(copy)], check=True)
    return copy


def last_status(log: str) -> dict[str, object] | None:
    """Frames detected/dropped per camera and counters from the run's last status line."""
    matches = list(_STATUS.finditer(log))
    if not matches:
        return None
    last = matches[-1]
    return {"frames": ast.literal_eval(last["frames"]), "dropped": ast.literal_eval(last["dropped"]),
            "incidents": int(last["incidents"]), "unsent": int(last["unsent"])}


def database_counts(database: str, since: datetime) -> tuple[Counter[str], Counter[str]]:
    """Incidents by kind and camera events by state recorded since `since`."""
    engine = make_engine(database)
    try:
        with engine.connect() as connection:
            incidents = connection.execute(select(Incident.kind, func.count()).where(Incident.created_at >= since)
                                           .group_by(Incident.kind)).all()
            events = connection.execute(select(CameraEvent.state, func.count()).where(CameraEvent.at >= since)
                                        .group_by(CameraEvent.state)).all()
    finally:
        engine.dispose()
    return Counter({str(k): n for k, n in incidents}), Counter({str(s): n for s, n in events})


def counted(counts: Counter[str] | dict[str, int]) -> str:
    return ", ".join(f"{name} {count}" for name, count in sorted(counts.items())) or "none"


def report(samples: list[Sample], warmup_s: float) -> None:
    """The samples' range, and growth per hour after the warm-up."""
    first, last = samples[0], samples[-1]
    rss = [s.rss_mb for s in samples]
    print(f"samples: {len(samples)} over {last.t_s / 60:.1f} min; RSS {first.rss_mb:.1f} -> {last.rss_mb:.1f} MB "
          f"(min {min(rss):.1f}, max {max(rss):.1f}); fds {first.fds} -> {last.fds} (max "
          f"{max(s.fds for s in samples)}); threads {first.threads} -> {last.threads} "
          f"(max {max(s.threads for s in samples)})")
    steady = [s for s in samples if s.t_s >= warmup_s]
    if len(steady) < 3:
        print(f"after warm-up: only {len(steady)} sample(s); run longer or shorten --warmup-minutes")
        return
    rss_growth = per_hour(steady, "rss_mb")
    verdict = "met" if rss_growth < RSS_TARGET_MB_H else "NOT met"
    print(f"after warm-up ({len(steady)} samples over {(steady[-1].t_s - steady[0].t_s) / 60:.1f} min, "
          f"RSS {steady[0].rss_mb:.1f} -> {steady[-1].rss_mb:.1f} MB):")
    print(f"  RSS growth     {rss_growth:+8.2f} MB/h  (target < {RSS_TARGET_MB_H:g} MB/h: {verdict})")
    print(f"  fd growth      {per_hour(steady, 'fds'):+8.2f} /h    ({steady[0].fds} -> {steady[-1].fds})")
    print(f"  thread growth  {per_hour(steady, 'threads'):+8.2f} /h    ({steady[0].threads} -> {steady[-1].threads})")


def sample_until(proc: subprocess.Popen[bytes], seconds: float, every_s: float) -> list[Sample]:
    """Samples every `every_s` until `seconds` have passed, the process ends, or Ctrl-C."""
    started = time.monotonic()
    samples: list[Sample] = []
    try:
        while time.monotonic() - started < seconds:
            next_at = started + every_s * (len(samples) + 1)  # the first sample after one interval
            try:
                proc.wait(timeout=max(0.0, min(next_at, started + seconds) - time.monotonic()))
                break  # it exited
            except subprocess.TimeoutExpired:
                pass
            sample = take_sample(proc.pid, time.monotonic() - started)
            if sample is None:
                # Gone from /proc, yet not always reaped at once (its last threads still tearing down):
                # wait for it, so that a run which died is told apart from one still to be stopped.
                with suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=EXIT_GRACE_S)
                break
            samples.append(sample)
    except KeyboardInterrupt:
        print("interrupted: stopping the run early", file=sys.stderr)
    return samples


def stop(proc: subprocess.Popen[bytes]) -> tuple[int | None, float]:
    """SIGTERM, then wait; its exit code (None if it had to be killed) and how long it took."""
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=STOP_TIMEOUT_S), time.monotonic() - started
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return None, time.monotonic() - started


def soak(args: argparse.Namespace, folder: Path) -> int:
    database = args.database or f"sqlite:///{folder / 'soak.db'}"
    with ExitStack() as stack:
        if args.source == "rtsp":  # one looping RTSP server per camera, stopped when the run is
            clip = as_h264(args.clip, folder)
            urls = [stack.enter_context(RtspServer(clip)).url for _ in range(args.cameras)]
        else:
            urls = [str(args.clip)] * args.cameras
        site = write_site(folder, urls, args, database)
        log_path = folder / "run.log"
        print(f"soak: {args.cameras} {args.source} camera(s) of {args.clip.name} at {args.detect_fps:g} fps for "
              f"{args.minutes:g} min, sampled every {args.sample_every:g} s, warm-up {args.warmup_minutes:g} min; "
              f"database {redact_url(database)}, broker {redact_url(args.broker) if args.broker else 'none'}",
              flush=True)
        since = datetime.now(UTC)
        with log_path.open("wb") as log:
            proc = subprocess.Popen([sys.executable, "-m", "aibrain", "run", "--config", str(site)],
                                    stdout=log, stderr=subprocess.STDOUT, cwd=folder,
                                    start_new_session=True)  # Ctrl-C stops the soak, which then stops it
            samples = sample_until(proc, args.minutes * 60, args.sample_every)
            crashed = proc.poll() is not None
            code, took = (proc.returncode, 0.0) if crashed else stop(proc)
    log_text = log_path.read_text(encoding="utf-8", errors="replace")
    write_samples(folder / "samples.csv", samples)
    if samples:
        report(samples, args.warmup_minutes * 60)
    status = last_status(log_text)
    if status:
        frames, dropped = status["frames"], status["dropped"]
        assert isinstance(frames, dict) and isinstance(dropped, dict)
        print(f"frames detected {sum(frames.values())} ({counted(frames)}), "
              f"dropped {sum(dropped.values())} ({counted(dropped)}); outbox unsent {status['unsent']}")
    try:
        incidents, events = database_counts(database, since)
        print(f"incidents: {sum(incidents.values())} ({counted(incidents)}); camera events: {counted(events)}")
    except SQLAlchemyError as exc:  # a run that died before migrating its database
        print(f"incidents: unknown, the database cannot be read: {redact_url(str(exc).splitlines()[0])}")
    errors = [line for line in log_text.splitlines() if " ERROR " in line or line.startswith("Traceback")]
    print(f"log {log_path}: {len(errors)} error line(s); samples in {folder / 'samples.csv'}"
          + "".join(f"\n  {line}" for line in errors[:5]))
    if crashed:
        print(f"aibrain run DIED with exit code {code} after {samples[-1].t_s if samples else 0:.0f} s; last lines:\n"
              + "\n".join(log_text.splitlines()[-20:]))
        return 1
    print(f"aibrain run: exit code {code} after SIGTERM (stopped in {took:.1f} s)")
    return 0 if code == 0 else 1


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cameras", type=int, default=4, help="cameras, each the clip looped (default 4)")
    parser.add_argument("--minutes", type=float, default=10.0, help="how long `aibrain run` runs (default 10)")
    parser.add_argument("--source", choices=["file", "rtsp"], default="file",
                        help="file: the clip played in real time, looped; rtsp: one looping RTSP server per camera")
    parser.add_argument("--clip", type=Path, help="H.264 clip (default: footage/videos/pialin_street.mp4)")
    parser.add_argument("--model", type=Path, help="ONNX weights (default: models/yolov8n_coco_dq.onnx)")
    parser.add_argument("--sample-every", type=float, default=10.0, help="seconds between samples (default 10)")
    parser.add_argument("--warmup-minutes", type=float, default=2.0,
                        help="samples before this are left out of the growth figures (default 2)")
    parser.add_argument("--detect-fps", type=float, default=2.0, help="frames per second per camera (default 2)")
    parser.add_argument("--dwell-s", type=float, default=3.0, help="parking rules' dwell (default 3 s)")
    parser.add_argument("--broker", help="AMQP URL for alerts (default: none, incidents stay in the outbox)")
    parser.add_argument("--database", help="database URL (default: a temporary SQLite)")
    parser.add_argument("--workdir", type=Path,
                        help="keep the site, log, database and evidence here (default: a temporary folder)")
    args = parser.parse_args(argv)
    if args.cameras < 1 or args.minutes <= 0 or args.sample_every <= 0:
        parser.error("--cameras, --minutes and --sample-every must be positive")
    if not 0 <= args.warmup_minutes < args.minutes:
        parser.error("--warmup-minutes must be at least 0 and shorter than --minutes")
    args.clip = (args.clip or asset("footage/videos/pialin_street.mp4")).resolve()
    args.model = (args.model or asset("models/yolov8n_coco_dq.onnx")).resolve()
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return in_workdir(args.workdir, "aibrain-soak-", lambda folder: soak(args, folder))


if __name__ == "__main__":
    sys.exit(main())

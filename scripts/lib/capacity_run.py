"""One step of the capacity bench (scripts/bench_capacity.py): N cameras served over RTSP by one GStreamer process
(scripts/lib/rtsp_camera.py, mounts staggered over the GOP), watched for a window by either

- `aibrain run` on a site of N RTSP cameras (`decode: keyframes`, one frame a second, parking rules over the whole
  picture), its /metrics read when every camera has been detected once plus a warm-up, and again a window later; or
- Ultralytics' multi-stream tracker, `YOLO(pt).track(source=cameras.streams, vid_stride=…, stream=True)` in a child
  process that prints a line per result, counted per stream over the same window.

Each gives a capacity_math.Window, with the CPU seconds of the watching process, of the RTSP server and of the
rest of the machine over the window (/proc).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import yaml

from detector.backends.backend import open_backend
from detector.model_card import load_card, save_card
from scripts.bench_site import write_site
from scripts.lib.capacity_math import Reading, Window, metrics_reading, window
from scripts.lib.private_services import free_port
from scripts.lib.rtsp_camera import RtspServer

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
STOP_TIMEOUT_S = 90.0  # `aibrain run` joins each role for up to 15 s
POLL_S = 1.0

# Runs in a child process, so that PyTorch's import, threads and memory stay out of the bench. A line per result:
# the stream it belongs to. LoadStreams hands the tracker one picture of every stream per batch, in the file's
# order, so the n-th result is stream n mod N.
ULTRALYTICS_STREAMS = """
import sys
from ultralytics import YOLO
model, streams, stride = sys.argv[1], sys.argv[2], int(sys.argv[3])
cameras = len(open(streams).read().split())
results = YOLO(model, task="detect").track(source=streams, vid_stride=stride, stream=True, imgsz=640, device="cpu",
                                           verbose=False)
for index, _ in enumerate(results):
    print(index % cameras, flush=True)
"""


class StepFailed(RuntimeError):
    """The run under test died or never got a picture from every camera."""


@dataclass(frozen=True)
class StepTiming:
    warmup_s: float  # after every camera's first frame detected, before the window opens
    window_s: float
    detect_fps: float = 1.0  # frames a second offered per camera
    stagger_s: float = 1.0  # the cameras' keyframes spread over this (one GOP)
    start_timeout_s: float = 180.0  # until every camera has its first frame detected


@dataclass(frozen=True)
class SiteModel:
    """What a site's `model` and `model_dirs` say: a weights file, or a card whose weights lie in `dirs`."""

    model: Path
    dirs: tuple[Path, ...] = ()


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far, every thread; 0 once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime


def machine_busy_s() -> float:
    """CPU seconds every core of the machine spent busy so far (idle and iowait left out)."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = Path("/proc/stat").read_text().split()[1:9]
    return sum(int(ticks) for ticks in (user, nice, system, irq, softirq, steal)) / CLOCK_TICKS


def null_model(folder: Path, weights: Path) -> SiteModel:
    """A `.null` model standing in for `weights` (its class names and input size) with a parked car and bicycle in
    every picture, so tracking, rules, evidence and storage still work, and a card for it (the shipped yolov8n's
    object kinds)."""
    folder.mkdir(parents=True, exist_ok=True)
    backend = open_backend(weights)
    stand_in = {"class_names": [backend.class_names[i] for i in sorted(backend.class_names)],
                "input_size": list(backend.input_size),
                "detections": [{"box": [0.55, 0.55, 0.85, 0.95], "class": "car", "score": 0.9},
                               {"box": [0.10, 0.60, 0.25, 0.95], "class": "bicycle", "score": 0.8}]}
    (folder / "coco.null").write_text(yaml.safe_dump(stand_in), encoding="utf-8")
    card = load_card("yolov8n").model_copy(update={"name": "null-coco", "weights": ["coco.null"], "download": None})
    save_card(card, folder / "null-coco.yaml", "The capacity bench's null detector: inference taken out.")
    return SiteModel(folder / "null-coco.yaml", (folder,))


def write_capacity_site(folder: Path, urls: list[str], model: SiteModel, metrics_port: int,
                        detect_fps: float) -> Path:
    """scripts/bench_site.py's site (a zone over the whole picture, both parking rules) with a camera per URL,
    keyframes only, and the metrics endpoint on `metrics_port`."""
    path = write_site(folder, Path("camera"), model.model, decode="keyframes", detect_fps=detect_fps)  # cameras below
    site = yaml.safe_load(path.read_text(encoding="utf-8"))
    [camera] = site["cameras"]
    site["cameras"] = [camera | {"id": f"cam{index:02d}", "name": f"cam {index}", "url": url}
                       for index, url in enumerate(urls, start=1)]
    site["metrics_port"] = metrics_port
    if model.dirs:
        site["model_dirs"] = [str(folder) for folder in model.dirs]
    path.write_text(yaml.safe_dump(site, allow_unicode=True), encoding="utf-8")
    return path


def stop(proc: subprocess.Popen[str] | subprocess.Popen[bytes]) -> None:
    """SIGTERM, wait; SIGKILL if it does not end."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def log_tail(path: Path, lines: int = 15) -> str:
    return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


def wait_for(ready: Callable[[], bool], proc: subprocess.Popen[str] | subprocess.Popen[bytes], timeout_s: float,
             log: Path, what: str) -> None:
    """Poll `ready` until it holds; StepFailed if the process exits or the time runs out first."""
    deadline = time.monotonic() + timeout_s
    while not ready():
        if proc.poll() is not None:
            raise StepFailed(f"{what} exited with code {proc.returncode}; last lines of {log}:\n{log_tail(log)}")
        if time.monotonic() > deadline:
            raise StepFailed(f"{what}: not every camera had a frame detected after {timeout_s:.0f} s; "
                             f"last lines of {log}:\n{log_tail(log)}")
        time.sleep(POLL_S)


def run_aibrain(cameras: int, clip: Path, model: SiteModel, folder: Path, timing: StepTiming, cores: int) -> Window:
    """`aibrain run` watching `cameras` RTSP cameras: the window after the warm-up."""
    port = free_port()
    log = folder / "run.log"
    with RtspServer(clip, mounts=cameras, stagger_s=timing.stagger_s) as server:
        site = write_capacity_site(folder / "site", server.urls, model, port, timing.detect_fps)
        with log.open("w") as out:
            proc = subprocess.Popen([sys.executable, "-m", "aibrain", "run", "--config", str(site)], stdout=out,
                                    stderr=subprocess.STDOUT, cwd=site.parent, start_new_session=True)

        def read() -> Reading:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
                text = response.read().decode()
            return metrics_reading(text, time.monotonic(), process_cpu_s(proc.pid), process_cpu_s(server.pid),
                                   machine_busy_s())

        def every_camera_seen() -> bool:
            try:
                detected = read().detected
            except OSError:  # not listening yet
                return False
            return len(detected) == cameras and min(detected.values()) > 0

        try:
            wait_for(every_camera_seen, proc, timing.start_timeout_s, log, "aibrain run")
            time.sleep(timing.warmup_s)
            first = read()
            time.sleep(timing.window_s)
            last = read()
            if proc.poll() is not None:
                raise StepFailed(f"aibrain run exited during the window; last lines of {log}:\n{log_tail(log)}")
        finally:
            stop(proc)
    return window(first, last, cameras, timing.detect_fps, cores)


class _ResultCounter:
    """Counts the child's result lines per stream, on a thread of its own."""

    def __init__(self, cameras: int, lines: IO[str]) -> None:
        self._counts = [0] * cameras
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._count, args=(lines,), daemon=True)
        self._thread.start()

    def _count(self, lines: IO[str]) -> None:
        for line in lines:
            if line.strip().isdigit():
                with self._lock:
                    self._counts[int(line)] += 1

    def counts(self) -> dict[str, float]:
        with self._lock:
            return {f"stream{index + 1:02d}": float(count) for index, count in enumerate(self._counts)}


def run_ultralytics(cameras: int, clip: Path, weights: Path, folder: Path, timing: StepTiming, cores: int,
                    vid_stride: int) -> Window:
    """Ultralytics' multi-stream tracker watching `cameras` RTSP cameras: the window after the warm-up."""
    log = folder / "ultralytics.log"
    folder.mkdir(parents=True, exist_ok=True)
    with RtspServer(clip, mounts=cameras, stagger_s=timing.stagger_s) as server:
        streams = folder / "cameras.streams"
        streams.write_text("\n".join(server.urls) + "\n", encoding="utf-8")
        env = os.environ | {"OPENCV_FFMPEG_CAPTURE_OPTIONS": "rtsp_transport;tcp"}  # as aibrain's readers
        with log.open("w") as errors:
            proc = subprocess.Popen([sys.executable, "-c", ULTRALYTICS_STREAMS, str(weights), str(streams),
                                     str(vid_stride)], stdout=subprocess.PIPE, stderr=errors, text=True, env=env,
                                    start_new_session=True)
        assert proc.stdout is not None
        counter = _ResultCounter(cameras, proc.stdout)

        def read() -> Reading:
            return Reading(time.monotonic(), counter.counts(), process_cpu_s=process_cpu_s(proc.pid),
                           server_cpu_s=process_cpu_s(server.pid), machine_busy_s=machine_busy_s())

        try:
            wait_for(lambda: min(counter.counts().values()) > 0, proc, timing.start_timeout_s, log, "ultralytics")
            time.sleep(timing.warmup_s)
            first = read()
            time.sleep(timing.window_s)
            last = read()
        finally:
            stop(proc)
    return window(first, last, cameras, timing.detect_fps, cores)

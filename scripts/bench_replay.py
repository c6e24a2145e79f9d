#!/usr/bin/env python3
"""Replay speed: `aibrain replay` against Ultralytics `model.track(vid_stride=...)` on the same file.

The footage is `dyh_unbox_test.mp4` (1080p, 30 fps) looped to `--minutes` and encoded the way a
street camera sends it: H.264 with one keyframe a second (`--gop-s`). Both sides look at one frame
a second of media:
- AI Brain: the `aibrain replay` command with the camera's `decode: keyframes` and
  `detect_fps: 1`, the fp32 YOLOv8n ONNX model, its tracker, rules and SQLite database; once with the
  shared 640x640 model and once with the rectangular one (the same `.pt` exported with
  `aibrain models export --dynamic`, into the git-ignored export cache: a 16:9 frame runs at 640x384);
- Ultralytics: `YOLO(model).track(source=FILE, vid_stride=fps/detect_fps, stream=True)` with
  ByteTrack, once with the `.pt` checkpoint (PyTorch, its usual way) and once with the same ONNX.
Each side runs as its own process, timed from launch to exit (imports and model loading included),
alternating `--rounds` times so a noisy neighbour slows all alike; the best round of each counts.
Prints the real-time factor of each (media seconds per wall second; target for AI Brain >= 10x on
2 cores), the rectangular model's factor over the 640x640 one's, and each AI Brain run's factor over
each Ultralytics run.
Usage: .venv/bin/python scripts/bench_replay.py [--minutes M] [--rounds N] [--detect-fps F]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench_site import write_site
from lib.footage import make_footage

from aibrain.assets import asset
from aibrain.model_tools.export import OnnxExport, exported_once

# Runs in a child process so that PyTorch's import, threads and memory stay out of the other runs.
ULTRALYTICS_TRACK = """
import sys
from ultralytics import YOLO
model, source, stride = sys.argv[1], sys.argv[2], int(sys.argv[3])
frames = sum(1 for _ in YOLO(model, task="detect").track(source=source, vid_stride=stride, stream=True,
                                                         imgsz=640, device="cpu", verbose=False))
print(f"frames={frames}")
"""


OURS = "aibrain replay (onnx)"
OURS_RECT = "aibrain replay (onnx, rectangular)"
ULTRALYTICS = ("ultralytics track (pt)", "ultralytics track (onnx)")


@dataclass(frozen=True)
class Run:
    wall_s: float  # launch to exit
    frames: int  # run through the detector
    output: str


def timed(command: list[str], frames_pattern: str) -> Run:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    wall_s = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"failed ({done.returncode}): {' '.join(command)}\n{done.stdout}{done.stderr}")
    found = re.search(frames_pattern, done.stdout)
    if found is None:
        sys.exit(f"no frame count in the output of {' '.join(command)}:\n{done.stdout}")
    return Run(wall_s, int(found.group(1)), done.stdout)


def aibrain_replay(footage: Path, site: Path) -> Run:
    return timed([sys.executable, "-m", "aibrain", "replay", str(footage), "--config", str(site),
                  "--camera", "bench", "--no-progress"], r"(\d+) frame\(s\) detected")


def ultralytics_track(footage: Path, model: Path, stride: int) -> Run:
    return timed([sys.executable, "-c", ULTRALYTICS_TRACK, str(model), str(footage), str(stride)],
                 r"frames=(\d+)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clip", type=Path, default=None, help="default: footage/videos/dyh_unbox_test.mp4")
    parser.add_argument("--minutes", type=float, default=3.0, help="length of the looped footage")
    parser.add_argument("--gop-s", type=float, default=1.0, help="keyframe interval of the footage")
    parser.add_argument("--detect-fps", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    clip = args.clip or asset("footage/videos/dyh_unbox_test.mp4")
    onnx_model, pt_model = asset("models/yolov8n_coco_dq.onnx"), asset("models/yolov8n_coco_dq.pt")
    rect_model = exported_once(pt_model, OnnxExport(640, dynamic_batch=True))

    with tempfile.TemporaryDirectory(prefix="aibrain-bench-replay-") as scratch:
        footage = Path(scratch) / f"{clip.stem}-{args.minutes:g}min.mp4"
        media_s, fps = make_footage(clip, args.minutes, args.gop_s, footage)
        sites = {name: write_site(Path(scratch) / folder, footage, model, decode="keyframes",
                                  detect_fps=args.detect_fps)
                 for name, folder, model in ((OURS, "site", onnx_model), (OURS_RECT, "site-rect", rect_model))}
        stride = max(1, round(fps / args.detect_fps))
        sides: dict[str, Callable[[], Run]] = {
            OURS: lambda: aibrain_replay(footage, sites[OURS]),
            OURS_RECT: lambda: aibrain_replay(footage, sites[OURS_RECT]),
            ULTRALYTICS[0]: lambda: ultralytics_track(footage, pt_model, stride),
            ULTRALYTICS[1]: lambda: ultralytics_track(footage, onnx_model, stride),
        }
        runs: dict[str, list[Run]] = {name: [] for name in sides}
        for round_ in range(args.rounds):
            for name, run_side in sides.items():
                runs[name].append(run_side())
                print(f"round {round_ + 1} {name}: {runs[name][-1].wall_s:.1f} s, "
                      f"{runs[name][-1].frames} frames", flush=True)

    print(f"\nfootage: {clip.name} looped to {media_s:.0f} s, {fps:g} fps, keyframe every {args.gop_s:g} s; "
          f"{args.detect_fps:g} frame/s of media to the detector (Ultralytics vid_stride={stride})")
    best = {name: min(side_runs, key=lambda run: run.wall_s) for name, side_runs in runs.items()}
    for name, run in best.items():
        print(f"{name:34s} {run.wall_s:6.1f} s wall, {run.frames:5d} frames, "
              f"real-time factor {media_s / run.wall_s:6.1f}x")
    for name, label in ((OURS, "aibrain"), (OURS_RECT, "aibrain rectangular")):
        report(label, best[name], media_s)
    print(f"aibrain rectangular / 640x640: {best[OURS].wall_s / best[OURS_RECT].wall_s:.2f}x faster")
    for name, label in ((OURS, "aibrain"), (OURS_RECT, "aibrain rectangular")):
        for other in ULTRALYTICS:
            print(f"{label} / {other}: {best[other].wall_s / best[name].wall_s:.2f}x faster")


def report(label: str, run: Run, media_s: float) -> None:
    """One AI Brain run's real-time factor, whole and of the file's replay alone."""
    factor = media_s / run.wall_s
    print(f"{label} real-time factor: {factor:.1f}x  (target >= 10x: {'met' if factor >= 10 else 'NOT met'})")
    file_part = re.search(r"detected in ([\d.]+) s", run.output)
    if file_part:  # what hours of footage tend to: start-up (imports, model, database) left out
        print(f"{label} real-time factor of the file's replay alone: {media_s / float(file_part[1]):.1f}x "
              f"({run.wall_s - float(file_part[1]):.1f} s of start-up and exit)")

if __name__ == "__main__":
    main()

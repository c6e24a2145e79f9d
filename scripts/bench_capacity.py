#!/usr/bin/env python3
"""Capacity: how many 1080p cameras at one frame a second this machine sustains, ours against Ultralytics'.

N cameras are one GStreamer RTSP server process serving N mounts of the clip (1080p H.264, re-encoded once with a
keyframe every second), their keyframes staggered over the second as real cameras' are. Three sides watch them:
- ours: `aibrain run`, `decode: keyframes`, `detect_fps: 1`, parking rules over the whole picture, the ONNX model:
  by default the shared YOLOv8n exported with dynamic height and width (rectangular inference, 640x384 for 16:9);
- null: the same with a `.null` detector that returns fixed boxes at once: the pipeline's own ceiling;
- ultralytics: `YOLO(pt).track(source=cameras.streams, vid_stride=30, stream=True)` (it decodes every frame).
A step runs one side with N cameras: it waits until every camera has been detected once, a warm-up, then counts
over a window. N is sustained when >= 95 % of the offered frames (N x 1 x window) are detected. Each side steps N
up by --growth from its start until a step falls short, then bisects. Ours is then run at ~1.5x its limit
(saturation) for the frames/s against the ceiling its own per-frame costs allow (cores left by the RTSP server /
CPU per frame; goal >= 0.95) and the per-camera spread (goal within +-20 % of the mean).

Prints each step as it ends, then: cameras sustained per side, the saturation figures, CPU ms per frame by stage
(from aibrain_stage_cpu_seconds; `unattributed` is the process's CPU no stage saw: the model's own threads,
demuxing, queues), and the null-detector ceiling. The full run takes 25-30 min and wants a quiet machine (it
warns when other processes took CPU); --quick (a fixed few cameras, short windows: a smoke test, not figures)
about 1.5 min.

Usage: .venv/bin/python scripts/bench_capacity.py [--quick] [--sides ours,null,ultralytics]
       [--model rect|square|PATH] [--ours-cameras N,N] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a file: `scripts.lib` from the checkout
from aibrain.assets import asset  # noqa: E402
from aibrain.model_tools.export import OnnxExport, exported_once  # noqa: E402
from scripts.lib.capacity_math import (  # noqa: E402
    FAIR,
    SUSTAINED,
    CapacitySearch,
    Window,
    saturation_cameras,
)
from scripts.lib.capacity_run import (  # noqa: E402
    SiteModel,
    StepFailed,
    StepTiming,
    null_model,
    run_aibrain,
    run_ultralytics,
)
from scripts.lib.footage import make_footage  # noqa: E402
from scripts.lib.workdir import in_workdir  # noqa: E402

SIDES = ("ours", "null", "ultralytics")
LABELS = {"ours": "AI Brain", "null": "AI Brain, null detector", "ultralytics": "Ultralytics track (pt)"}
QUICK_CAMERAS = {"ours": [2], "null": [2], "ultralytics": [1]}
STAGE_LABELS = {"tracking_rules": "tracking+rules"}
BUSY_CORES = 0.25  # other processes' CPU above this during a step: the figures are not the machine's


@dataclass
class Side:
    """One side's steps: the search (or a fixed list of camera counts) and each step's window."""

    name: str
    run: Callable[[int, Path], Window]  # cameras, the step's folder
    search: CapacitySearch | None
    fixed: list[int] = field(default_factory=list)
    windows: dict[int, Window] = field(default_factory=dict)

    def measure(self, cameras: int, folder: Path) -> Window | None:
        """One step, printed as it ends; None (and counted as not sustained) if the run failed."""
        try:
            result = self.run(cameras, folder / f"{self.name}-{cameras:03d}")
        except StepFailed as exc:
            print(f"  {self.name:11s} {cameras:3d} cameras: FAILED: {exc}", flush=True)
            if self.search is not None:
                self.search.record(cameras, False)
            return None
        self.windows[cameras] = result
        if self.search is not None:
            self.search.record(cameras, result.sustained)
        print(f"  {self.name:11s} {cameras:3d} cameras: {step_line(result)}", flush=True)
        return result

    def steps(self, folder: Path) -> None:
        if self.search is None:
            for cameras in self.fixed:
                self.measure(cameras, folder)
            return
        while (step := self.search.next()) is not None:
            self.measure(step, folder)

    @property
    def limit(self) -> int:
        if self.search is not None:
            return self.search.limit
        return max((cameras for cameras, w in self.windows.items() if w.sustained), default=0)

    @property
    def most(self) -> Window | None:
        """The step with the most cameras: the nearest to saturation this side got."""
        return self.windows[max(self.windows)] if self.windows else None


def step_line(w: Window) -> str:
    s = w.spread
    verdict = "sustained" if w.sustained else "short"
    return (f"{w.fps:6.2f} frames/s of {w.offered / w.seconds:6.2f} offered ({w.sustained_ratio:5.3f}: {verdict}); "
            f"per camera {s.least:.0f}-{s.most:.0f} (mean {s.mean:.1f}); skipped {w.skipped / w.seconds:.2f}/s, "
            f"dropped {w.dropped / w.seconds:.2f}/s; CPU {w.cpu_per_frame_s * 1000:.1f} ms/frame, "
            f"{w.cores_used(w.process_cpu_s):.2f} cores (server {w.cores_used(w.server_cpu_s):.2f}, "
            f"others {w.cores_used(w.others_cpu_s):.2f}); {w.of_ceiling:.3f} of the ceiling")


def stage_table(columns: dict[str, Window]) -> list[str]:
    """CPU ms per frame by stage, a column per window."""
    per_stage = {name: w.stage_ms() for name, w in columns.items()}
    rows = [f"  {'stage':16s}" + "".join(f"{name:>18s}" for name in columns)]
    for stage in next(iter(per_stage.values())):
        cells = "".join(f"{per_stage[name].get(stage, math.nan):18.2f}" for name in columns)
        rows.append(f"  {STAGE_LABELS.get(stage, stage):16s}{cells}")
    rows.append(f"  {'total':16s}" + "".join(f"{w.cpu_per_frame_s * 1000:18.2f}" for w in columns.values()))
    return rows


def print_saturation(w: Window, limit: int) -> None:
    s = w.spread
    print(f"\nsaturation (ours, {w.cameras} cameras, {w.cameras / max(1, limit):.1f}x the limit): {w.fps:.2f} frames/s "
          f"against a ceiling of {w.ceiling_fps:.2f} ({w.pipeline_cores:.2f} cores left by the RTSP server / "
          f"{w.cpu_per_frame_s * 1000:.1f} ms of CPU per frame): {w.of_ceiling:.3f} "
          f"(goal >= 0.95: {'met' if w.of_ceiling >= 0.95 else 'NOT met'})")
    print(f"  per camera over {w.seconds:.0f} s: min {s.least:.0f}, max {s.most:.0f}, mean {s.mean:.1f} frames: "
          f"{s.below:+.0%} / {s.above:+.0%} of the mean (goal within ±{FAIR:.0%}: {'met' if s.fair else 'NOT met'}); "
          f"skipped {w.skipped / w.seconds:.2f}/s, dropped {w.dropped / w.seconds:.2f}/s")
    print(f"  other processes used {w.cores_used(w.others_cpu_s):.2f} cores (a quiet machine has ~0); of the cores "
          f"they left, the run kept {w.of_cores_got:.3f} busy")


def report(sides: dict[str, Side], saturation: Window | None, args: argparse.Namespace) -> None:
    print(f"\ncameras sustained (>= {SUSTAINED:.0%} of the offered frames detected, {args.window_s:g} s windows):")
    for name, side in sides.items():
        bound = "" if side.search is None or side.limit < side.search.max_cameras else " (the most tried)"
        print(f"  {LABELS[name]:26s} {side.limit:4d}{bound}")
    if saturation is not None:
        print_saturation(saturation, sides["ours"].limit)
    ours = saturation or (sides["ours"].most if "ours" in sides else None)
    null = sides["null"].most if "null" in sides else None
    columns = {f"{name}@{w.cameras}": w for name, w in (("ours", ours), ("null", null)) if w is not None and w.detected}
    if columns:
        print("\nCPU ms per frame detected, by stage (unattributed: no stage saw it; with a real model mostly its "
              "own threads):")
        print("\n".join(stage_table(columns)))
    if ours is not None and ours.detected:
        ms = ours.stage_ms()
        around = ms["conversion"] + ms["preprocess"] + ms["postprocess"]
        print(f"  around inference, conversion + preprocess + postprocess: {around:.2f} ms (goal <= 4 ms); "
              f"with tracking+rules, evidence and storage: "
              f"{around + ms['tracking_rules'] + ms['evidence'] + ms['storage']:.2f} ms")
    if null is not None and null.detected:
        print(f"\nnull-detector ceiling: {null.ceiling_fps:.1f} frames/s on {null.pipeline_cores:.2f} cores "
              f"({null.cpu_per_frame_s * 1000:.1f} ms of CPU per frame, everything but inference): "
              f"{null.ceiling_fps / args.detect_fps / null.pipeline_cores:.1f} cameras per core at "
              f"{args.detect_fps:g} frame/s")
    ultra = sides["ultralytics"].most if "ultralytics" in sides else None
    if ultra is not None and ultra.detected:
        print(f"ultralytics at {ultra.cameras} cameras: {ultra.cpu_per_frame_s * 1000:.1f} ms of CPU per frame "
              f"(it decodes every frame of every stream)")
    busiest = max((w.cores_used(w.others_cpu_s) for side in sides.values() for w in side.windows.values()),
                  default=0.0)
    if busiest > BUSY_CORES:
        print(f"\nWARNING: other processes used up to {busiest:.2f} cores during the steps: the machine was not "
              "quiet, and the figures are lower than it gives")
    if args.quick:
        print("\nquick: a fixed few cameras and short windows, a smoke test: these are not the figures")


def bench(args: argparse.Namespace, folder: Path) -> int:
    cores = len(os.sched_getaffinity(0))
    clip = folder / "camera-1080p-gop1s.mp4"
    media_s, fps = make_footage(args.clip, 0, 1.0, clip, whole_gops=True)
    timing = StepTiming(args.warmup_s, args.window_s, args.detect_fps)
    stride = max(1, round(fps / args.detect_fps))
    print(f"capacity: {args.clip.name} ({media_s:.0f} s, {fps:g} fps, 1 keyframe/s) looped by one RTSP server per "
          f"step; {args.detect_fps:g} frame/s per camera; model {args.model}; {cores} cores; warm-up "
          f"{args.warmup_s:g} s, window {args.window_s:g} s", flush=True)
    models = {"ours": SiteModel(args.model)}
    if "null" in args.sides:
        models["null"] = null_model(folder / "null-model", args.model)
    runners: dict[str, Callable[[int, Path], Window]] = {
        "ours": lambda n, step: run_aibrain(n, clip, models["ours"], step, timing, cores),
        "null": lambda n, step: run_aibrain(n, clip, models["null"], step, timing, cores),
        "ultralytics": lambda n, step: run_ultralytics(n, clip, args.pt, step, timing, cores, stride),
    }
    sides: dict[str, Side] = {}
    for name in args.sides:
        fixed: list[int] | None = args.fixed.get(name)
        search = None if fixed else CapacitySearch(start_cameras(name, args, sides), args.growth, args.max_cameras,
                                                    args.resolution)
        sides[name] = side = Side(name, runners[name], search, fixed or [])
        print(f"{LABELS[name]}:", flush=True)
        side.steps(folder)
    saturation = None
    if "ours" in sides and not args.quick and not args.fixed.get("ours"):
        ours = sides["ours"]
        cameras = saturation_cameras(ours.limit, [n for n, w in ours.windows.items() if not w.sustained])
        print(f"{LABELS['ours']}, saturation:", flush=True)
        saturation = ours.windows.get(cameras) or ours.measure(cameras, folder)
    report(sides, saturation, args)
    return 0


def start_cameras(name: str, args: argparse.Namespace, sides: dict[str, Side]) -> int:
    """Where a side's search starts: ours at --start; the null detector at twice ours' limit (it needs no inference);
    Ultralytics at 2 (it decodes every frame)."""
    start: int = args.start
    if name == "null":
        return max(start, 2 * sides["ours"].limit) if "ours" in sides else start
    return 2 if name == "ultralytics" else start


def camera_list(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def fixed_cameras(args: argparse.Namespace, name: str) -> list[int] | None:
    cameras: list[int] | None = getattr(args, f"{name}_cameras")
    return cameras


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="a smoke test: 2 cameras ours and null, 1 Ultralytics, 8 s windows (about 2 min)")
    parser.add_argument("--sides", default=",".join(SIDES), help=f"which to run, of {','.join(SIDES)}")
    parser.add_argument("--model", default=None,
                        help="ONNX weights for ours and the null detector's classes: a path, `rect` (the shared .pt "
                        "exported --dynamic, cached: rectangular inference; the default) or `square` (the shipped "
                        "640x640 models/yolov8n_coco_dq.onnx; the default with --quick)")
    parser.add_argument("--pt", type=Path, help="Ultralytics' checkpoint (default: models/yolov8n_coco_dq.pt)")
    parser.add_argument("--clip", type=Path, help="footage (default: footage/videos/dyh_unbox_test.mp4, 1080p)")
    parser.add_argument("--detect-fps", type=float, default=1.0, help="frames a second per camera (default 1)")
    parser.add_argument("--window-s", type=float, default=60.0, help="seconds counted per step (default 60)")
    parser.add_argument("--warmup-s", type=float, default=10.0,
                        help="seconds after every camera's first frame before counting (default 10)")
    parser.add_argument("--start", type=int, default=8, help="cameras of ours' first step (default 8)")
    parser.add_argument("--growth", type=float, default=1.5, help="cameras x this while sustained (default 1.5)")
    parser.add_argument("--resolution", type=float, default=0.05,
                        help="bisect until the gap is this share of the limit, at least 1 camera (default 0.05)")
    parser.add_argument("--max-cameras", type=int, default=96, help="never more than this (default 96)")
    for name in SIDES:
        parser.add_argument(f"--{name}-cameras", type=camera_list, metavar="N,N,...",
                            help=f"fixed camera counts for {name} instead of the search")
    parser.add_argument("--workdir", type=Path, help="keep each step's site, log and database here")
    args = parser.parse_args(argv)
    args.sides = [name.strip() for name in args.sides.split(",") if name.strip()]
    if not args.sides or set(args.sides) - set(SIDES):
        parser.error(f"--sides takes some of {','.join(SIDES)}")
    args.fixed = {name: cameras for name in SIDES if (cameras := fixed_cameras(args, name))}
    if args.quick:
        args.fixed = QUICK_CAMERAS | args.fixed
        args.window_s, args.warmup_s = min(args.window_s, 8.0), min(args.warmup_s, 2.0)
    if args.window_s <= 0 or args.warmup_s < 0 or args.start < 1 or args.growth <= 1 or args.detect_fps <= 0:
        parser.error("--window-s, --start and --detect-fps must be positive, --growth above 1")
    args.clip = (args.clip or asset("footage/videos/dyh_unbox_test.mp4")).resolve()
    args.pt = (args.pt or asset("models/yolov8n_coco_dq.pt")).resolve()
    args.model = onnx_model(args.model or ("square" if args.quick else "rect"), args.pt)
    return args


def onnx_model(choice: str, pt: Path) -> Path:
    """The ONNX weights `--model` names."""
    if choice == "square":
        return asset("models/yolov8n_coco_dq.onnx").resolve()
    if choice == "rect":  # exported once into the git-ignored cache (under a minute), as scripts/bench_replay.py does
        return exported_once(pt, OnnxExport(640, dynamic_batch=True))
    return Path(choice).resolve()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return in_workdir(args.workdir, "aibrain-capacity-", lambda folder: bench(args, folder))


if __name__ == "__main__":
    sys.exit(main())

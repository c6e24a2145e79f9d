#!/usr/bin/env python3
"""CPU per frame around inference, detecting on a camera's main stream against its sub-stream (`detect_url`).

The street clip with one keyframe a second, at 1920x1080 (the main stream) and squeezed into D1 704x576 (a
Hikvision sub-stream), decoded as a live `keyframes` reader does; each keyframe becomes the detector's 640x360
picture (from the main stream: shrunk, proportions kept; from the sub-stream: scaled to the main stream's 16:9)
and goes through the detector. The CPU of each stage comes from the stage counters (common/stage_cpu.py): decode,
conversion, preprocess, postprocess ("around inference", the issue's goal with a sub-stream: <= 8 ms in all) and
the calling thread's share of inference. The two paths alternate `--rounds` times on the same model.
Usage: .venv/bin/python scripts/bench_substream.py [--model PATH] [--rounds N] [--minutes M]
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
from pathlib import Path

from lib.footage import make_footage

from aibrain.assets import asset
from common.stage_cpu import STAGE_CPU, Stage
from detector.backends.onnx_backend import OnnxBackend
from streams.decode import iter_decoded, open_container
from streams.frame import DecodePolicy
from streams.main_picture import SubStreamPicture

MAIN_SIZE, SUB_SIZE = (1920, 1080), (704, 576)
DETECT_BOX = (640, 640)  # the model's input: the readers fit the detector's picture into it
AROUND = (Stage.DECODE, Stage.CONVERSION, Stage.PREPROCESS, Stage.POSTPROCESS)


def sub_stream(main: Path, out: Path) -> Path:
    """`main` squeezed into D1 with the same keyframes, as a camera's second stream is encoded."""
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(main), "-an", "-vf", f"scale={SUB_SIZE[0]}:{SUB_SIZE[1]}",
                    "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-force_key_frames",
                    "source", "-sc_threshold", "0", str(out)], check=True)
    return out


def ms_per_frame(backend: OnnxBackend, clip: Path, from_sub_stream: bool) -> tuple[int, dict[Stage, float]]:
    """Frames, and CPU ms per frame by stage, of every keyframe of `clip` through the detector."""
    before, frames = STAGE_CPU.totals(), 0
    with open_container(str(clip), 10.0, 10.0) as container:
        for decoded in iter_decoded(container, DecodePolicy.KEYFRAMES, None, "NONE"):
            picture = (SubStreamPicture(decoded, MAIN_SIZE).detect_image(DETECT_BOX) if from_sub_stream
                       else decoded.to_bgr_fitting(*DETECT_BOX))
            assert picture is not None
            backend.detect([picture])
            frames += 1
    after = STAGE_CPU.totals()
    return frames, {stage: (after[stage] - before[stage]) * 1000 / frames for stage in Stage}


def line(name: str, frames: int, ms: dict[Stage, float]) -> str:
    stages = ", ".join(f"{stage.value} {ms[stage]:.2f}" for stage in AROUND)
    return (f"{name:<24} {frames:4d} frames; {stages}; around inference {sum(ms[s] for s in AROUND):.2f} ms; "
            f"inference (calling thread) {ms[Stage.INFERENCE]:.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=None, help="default: models/yolov8n_coco_dq.onnx")
    parser.add_argument("--rounds", type=int, default=3, help="alternating main/sub-stream runs")
    parser.add_argument("--minutes", type=float, default=1.0, help="footage length (the clip looped)")
    args = parser.parse_args()
    backend = OnnxBackend(args.model or asset("models/yolov8n_coco_dq.onnx"))
    with tempfile.TemporaryDirectory(prefix="aibrain-bench-") as scratch:
        main_clip = Path(scratch) / "main.mp4"
        make_footage(asset("footage/videos/dyh_unbox_test.mp4"), args.minutes, 1.0, main_clip)
        sub_clip = sub_stream(main_clip, Path(scratch) / "sub.mp4")
        ms_per_frame(backend, sub_clip, True)  # warm-up: the session plans the 640x360 shape once
        around: dict[str, list[float]] = {"main": [], "sub": []}
        for round_ in range(args.rounds):
            for name, clip, from_sub in (("main", main_clip, False), ("sub", sub_clip, True)):
                frames, ms = ms_per_frame(backend, clip, from_sub)
                around[name].append(sum(ms[s] for s in AROUND))
                label = f"{MAIN_SIZE[0]}x{MAIN_SIZE[1]}" if name == "main" else f"{SUB_SIZE[0]}x{SUB_SIZE[1]} sub"
                print(line(f"round {round_} {label}", frames, ms), flush=True)
    main_ms, sub_ms = min(around["main"]), min(around["sub"])
    print(f"around inference, best round: main stream {main_ms:.2f} ms, sub-stream {sub_ms:.2f} ms "
          f"({main_ms / sub_ms:.2f}x less; goal with a sub-stream <= 8 ms)")


if __name__ == "__main__":
    main()

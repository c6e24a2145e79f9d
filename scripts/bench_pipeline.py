#!/usr/bin/env python3
"""Pipeline efficiency and decode cost, measured in one run on the same frames and model.

1. Bare detector: the backend alone on frames decoded beforehand (frames/s), with the model and with
   the rectangular model (the shared `.pt` exported with `aibrain models export --dynamic` into the
   git-ignored export cache: a 16:9 frame runs at 640x384, not 640x640).
2. Whole pipeline: the same file through `aibrain replay`'s roles — reader thread, one-slot
   mailbox, inference loop, tracker, rules, evidence, dispatcher with its database (frames/s).
3. Decode CPU seconds of the whole file with decode policy `all` vs `keyframes`.

Bare and pipeline runs alternate `--rounds` times, so a noisy neighbour on the machine slows both
alike. Prints the figures and the ratios (targets: pipeline/bare >= 0.9, keyframes/all <= 0.1;
rectangular/640x640 for the bare detector); pipeline/bare both as the median of each round's own ratio
and as best against best.
Usage: .venv/bin/python scripts/bench_pipeline.py [--clip PATH] [--model PATH] [--rounds N]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import av
import numpy as np
from bench_site import write_site

from aibrain import assemble
from aibrain.assets import asset
from aibrain.model_tools.export import OnnxExport, exported_once
from aibrain.model_tools.yolo import ModelError
from aibrain.replay.replay_run import FileReplay
from configs.load import Site, load_site
from detector.backends.backend import Backend
from routing.incidents.migrate import upgrade_to_head
from streams.decode import iter_decoded
from streams.frame import DecodePolicy


def decoded_images(clip: Path) -> list[np.ndarray]:
    with av.open(str(clip)) as container:
        return [d.to_bgr() for d in iter_decoded(container, DecodePolicy.ALL, None)]


def decode_cpu_s(clip: Path, policy: DecodePolicy) -> tuple[float, int]:
    """CPU seconds (this process, all threads) to decode the file and convert what is handed on."""
    started = time.process_time()
    with av.open(str(clip)) as container:
        # The decoder threading the camera reader uses for files.
        frames = sum(1 for d in iter_decoded(container, policy, None, "NONE") if d.to_bgr() is not None)
    return time.process_time() - started, frames


def bare_fps(backend: Backend, images: list[np.ndarray]) -> float:
    started = time.perf_counter()
    for image in images:
        backend.detect([image])
    return len(images) / (time.perf_counter() - started)


def pipeline_fps(site: Site, loaded: assemble.LoadedModel, clip: Path) -> tuple[float, int, int]:
    """One replay of the clip with fresh per-camera state and an empty database."""
    upgrade_to_head(site.database_url())
    camera = site.camera("bench")
    dispatcher = assemble.dispatcher(site, assemble.sessions(site.database_url()), wake=None)
    incidents = []
    replay = FileReplay(site, camera, loaded, assemble.camera_detector_state(site, camera, loaded),
                        lambda violation, _frame: incidents.append(dispatcher.dispatch(violation)))
    started = time.perf_counter()
    stats = replay.run(clip, origin_ts=1_700_000_000.0, on_progress=lambda _done: None)
    return stats.frames / (time.perf_counter() - started), stats.frames, len(incidents)


def rectangular_model() -> Path | None:
    """The rectangular model, or None (saying why) where Ultralytics, which exports it, is not installed."""
    try:
        return exported_once(asset("models/yolov8n_coco_dq.pt"), OnnxExport(640, dynamic_batch=True))
    except ModelError as exc:
        print(f"rectangular model left out: {exc}")
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clip", type=Path, default=None, help="default: footage/videos/dyh_unbox_test.mp4")
    parser.add_argument("--model", type=Path, default=None, help="default: models/yolov8n_coco_dq.onnx")
    parser.add_argument("--rounds", type=int, default=5, help="alternating bare/pipeline runs")
    args = parser.parse_args()
    clip = args.clip or asset("footage/videos/dyh_unbox_test.mp4")
    model = args.model or asset("models/yolov8n_coco_dq.onnx")
    rect_model = rectangular_model()

    all_cpu, all_frames = decode_cpu_s(clip, DecodePolicy.ALL)
    key_cpu, key_frames = decode_cpu_s(clip, DecodePolicy.KEYFRAMES)
    images = decoded_images(clip)
    bare_runs, rect_runs, pipeline_runs = [], [], []
    with tempfile.TemporaryDirectory(prefix="aibrain-bench-") as scratch:
        for round_ in range(args.rounds):
            site = load_site(write_site(Path(scratch) / f"round{round_}", clip, model, decode="all"))
            loaded = assemble.open_model(site)  # one model for both runs of a round
            loaded.backend.detect(images[:2])  # warm-up at the clip's shape: session allocations
            bare_runs.append(bare_fps(loaded.backend, images))
            if rect_model is not None:
                rect = assemble.open_model(load_site(write_site(Path(scratch) / f"rect{round_}", clip, rect_model,
                                                                decode="all")))
                rect.backend.detect(images[:2])
                rect_runs.append(bare_fps(rect.backend, images))
            pipeline_runs.append(pipeline_fps(site, loaded, clip))
    bare = max(bare_runs)
    piped, piped_frames, incidents = max(pipeline_runs)
    per_round = [run[0] / bare_fps_ for run, bare_fps_ in zip(pipeline_runs, bare_runs, strict=True)]

    print(f"clip: {clip.name}, model: {model.name}")
    print(f"decode all:       {all_cpu:7.2f} CPU s for {all_frames} frames")
    print(f"decode keyframes: {key_cpu:7.2f} CPU s for {key_frames} frames")
    print(f"keyframes/all decode CPU ratio: {key_cpu / all_cpu:.3f}  (target <= 0.1)")
    print(f"bare detector:  {bare:6.2f} frames/s over {all_frames} frames (rounds: "
          f"{', '.join(f'{fps:.2f}' for fps in bare_runs)})")
    if rect_runs:
        rect_ratios = [r / b for r, b in zip(rect_runs, bare_runs, strict=True)]
        print(f"bare detector, rectangular model: {max(rect_runs):6.2f} frames/s (rounds: "
              f"{', '.join(f'{fps:.2f}' for fps in rect_runs)}); rectangular/640x640 ratio: "
              f"{statistics.median(rect_ratios):.2f} median of rounds, {max(rect_runs) / bare:.2f} best/best")
    print(f"whole pipeline: {piped:6.2f} frames/s over {piped_frames} frames, {incidents} incidents (rounds: "
          f"{', '.join(f'{run[0]:.2f}' for run in pipeline_runs)})")
    print(f"pipeline/bare ratio: {statistics.median(per_round):.3f} median of rounds "
          f"({', '.join(f'{r:.2f}' for r in per_round)}), {piped / bare:.3f} best/best  (target >= 0.9)")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Pipeline efficiency and decode cost, measured in one run on the same frames and model.

1. Bare detector: the backend alone on frames decoded beforehand (frames/s).
2. Whole pipeline: the same file through `aibrain replay`'s roles — reader thread, one-slot
   mailbox, inference loop, tracker, rules, evidence, dispatcher with its database (frames/s).
3. Decode CPU seconds of the whole file with decode policy `all` vs `keyframes`.

Prints the figures and the two ratios (targets: pipeline/bare >= 0.9, keyframes/all <= 0.1).
Usage: .venv/bin/python scripts/bench_pipeline.py [--clip PATH] [--model PATH]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import av
import numpy as np
import yaml

from aibrain import assemble
from aibrain.assets import asset
from aibrain.replay import FileReplay
from configs.load import load_site
from detector.backends import open_backend
from routing.migrate import upgrade_to_head
from streams.decode import iter_decoded
from streams.frame import DecodePolicy


def decoded_images(clip: Path) -> list[np.ndarray]:
    with av.open(str(clip)) as container:
        return [d.to_bgr() for d in iter_decoded(container, DecodePolicy.ALL, None)]


def decode_cpu_s(clip: Path, policy: DecodePolicy) -> tuple[float, int]:
    """CPU seconds (this process, all threads) to decode the file and convert what is handed on."""
    started = time.process_time()
    with av.open(str(clip)) as container:
        frames = sum(1 for d in iter_decoded(container, policy, None) if d.to_bgr() is not None)
    return time.process_time() - started, frames


def bare_fps(model: Path, images: list) -> float:
    backend = open_backend(model)
    backend.detect(images[:2])  # warm-up: session allocations
    started = time.perf_counter()
    for image in images:
        backend.detect([image])
    return len(images) / (time.perf_counter() - started)


def write_site(folder: Path, clip: Path, model: Path) -> Path:
    grids = {"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"id": "G-01", "name": "bench"},
        "geometry": {"type": "Polygon", "coordinates": [[[121.47, 31.23], [121.48, 31.23], [121.48, 31.24],
                                                         [121.47, 31.23]]]}}]}
    (folder / "grids.geojson").write_text(json.dumps(grids), encoding="utf-8")
    site = {"database": f"sqlite:///{folder / 'bench.db'}", "model": str(model), "grids": "grids.geojson",
            "evidence_dir": "evidence",
            "workers": [{"id": "w-001", "name": "bench", "grids": ["G-01"], "shifts": ["Mon-Sun 00:00-24:00"]}],
            "cameras": [{"id": "bench", "name": "bench", "url": str(clip), "decode": "all",
                         "zones": [{"name": "all", "grid": "G-01", "tags": ["street"],
                                    "polygon": [[0, 0], [1, 0], [1, 1], [0, 1]]}]}],
            "rules": [{"kind": "non_motor_parking", "zone_tags": ["street"], "dwell_s": 2},
                      {"kind": "motor_parking", "zone_tags": ["street"], "dwell_s": 2}]}
    path = folder / "site.yaml"
    path.write_text(yaml.safe_dump(site), encoding="utf-8")
    return path


def pipeline_fps(clip: Path, model: Path, folder: Path, warm_up_image: np.ndarray) -> tuple[float, int, int]:
    site = load_site(write_site(folder, clip, model))
    upgrade_to_head(site.database_url())
    camera = site.camera("bench")
    loaded = assemble.open_model(site)
    loaded.backend.detect([warm_up_image] * 2)  # same warm-up as the bare run
    dispatcher = assemble.dispatcher(site, assemble.sessions(site.database_url()), wake=None)
    incidents = []
    replay = FileReplay(site, camera, loaded, assemble.camera_detector_state(site, camera, loaded),
                        lambda violation, _frame: incidents.append(dispatcher.dispatch(violation)))
    started = time.perf_counter()
    stats = replay.run(clip, origin_ts=1_700_000_000.0, on_progress=lambda _done: None)
    return stats.frames / (time.perf_counter() - started), stats.frames, len(incidents)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clip", type=Path, default=None, help="default: footage/videos/dyh_unbox_test.mp4")
    parser.add_argument("--model", type=Path, default=None, help="default: models/yolov8n_coco_dq.onnx")
    args = parser.parse_args()
    clip = args.clip or asset("footage/videos/dyh_unbox_test.mp4")
    model = args.model or asset("models/yolov8n_coco_dq.onnx")

    all_cpu, all_frames = decode_cpu_s(clip, DecodePolicy.ALL)
    key_cpu, key_frames = decode_cpu_s(clip, DecodePolicy.KEYFRAMES)
    images = decoded_images(clip)
    bare = bare_fps(model, images)
    warm_up_image = images[0]
    del images
    with tempfile.TemporaryDirectory(prefix="aibrain-bench-") as scratch:
        piped, piped_frames, incidents = pipeline_fps(clip, model, Path(scratch), warm_up_image)

    print(f"clip: {clip.name}, model: {model.name}")
    print(f"decode all:       {all_cpu:7.2f} CPU s for {all_frames} frames")
    print(f"decode keyframes: {key_cpu:7.2f} CPU s for {key_frames} frames")
    print(f"keyframes/all decode CPU ratio: {key_cpu / all_cpu:.3f}  (target <= 0.1)")
    print(f"bare detector:  {bare:6.2f} frames/s over {all_frames} frames")
    print(f"whole pipeline: {piped:6.2f} frames/s over {piped_frames} frames ({incidents} incidents)")
    print(f"pipeline/bare ratio: {piped / bare:.3f}  (target >= 0.9)")


if __name__ == "__main__":
    main()

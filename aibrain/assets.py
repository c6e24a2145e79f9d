"""Where tests and benchmarks find real weights and footage: one setting, `AIBRAIN_ASSETS`.

It defaults to `../shared` beside the project checkout. Nothing here is ever copied into the
project; under CI (`CI=true`) a missing asset is an error, never a reason to skip.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class MissingAsset(FileNotFoundError):
    pass


def assets_dir() -> Path:
    configured = os.environ.get("AIBRAIN_ASSETS")
    return Path(configured) if configured else PROJECT_ROOT.parent / "shared"


def asset(relative: str) -> Path:
    """Path of a shared asset such as `models/yolov8n_coco_dq.onnx`; raises if it is missing."""
    path = assets_dir() / relative
    if not path.is_file():
        raise MissingAsset(f"asset {relative!r} not found under {assets_dir()} (set AIBRAIN_ASSETS)")
    return path

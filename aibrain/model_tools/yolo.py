"""Ultralytics for the `models` commands: imported on demand, never phoning home, errors in one line.

Ultralytics (and PyTorch with it) is an optional extra; the serving path never imports it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from detector.backends.ultralytics_backend import INSTALL_HINT


class ModelError(Exception):
    """A problem with a model command's input that the user can fix; printed as one line."""


def import_ultralytics() -> None:
    """Import Ultralytics with its usage events and pip auto-installs turned off (a command centre's
    network has no business with either), or say how to install it."""
    os.environ.setdefault("YOLO_OFFLINE", "1")  # read once, when Ultralytics is first imported
    try:
        import ultralytics  # noqa: F401
    except ImportError as exc:
        raise ModelError(f"this command needs the Ultralytics extra: {INSTALL_HINT}") from exc


def load_yolo(weights: Path | str) -> Any:
    """`ultralytics.YOLO(weights)` for detection; typed `Any` because Ultralytics is untyped."""
    import_ultralytics()
    from ultralytics.models import YOLO

    return YOLO(str(weights), task="detect")


def dataset_class_names(data: Path) -> dict[int, str]:
    """Class names of an Ultralytics detection dataset YAML, after Ultralytics' own checks of it
    (its keys, and that the validation images are there). Never downloads a dataset."""
    if not data.is_file():
        raise ModelError(f"dataset file {data} does not exist")
    import_ultralytics()
    from ultralytics.data.utils import check_det_dataset

    try:
        info = check_det_dataset(str(data), autodownload=False)
    except (FileNotFoundError, SyntaxError, KeyError, ValueError) as exc:
        raise ModelError(f"dataset {data}: {' '.join(str(exc).split())}") from None
    return {int(k): str(v) for k, v in info["names"].items()}

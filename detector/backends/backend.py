"""Inference backends by name, and the file suffix that picks one."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from detector.backends.backend_options import DEFAULT_OPTIONS, BackendOptions
from detector.backends.null_backend import NullBackend
from detector.backends.onnx_backend import OnnxBackend
from detector.backends.ultralytics_backend import UltralyticsBackend
from detector.detections import Detections


class Backend(Protocol):
    """Images in, one Detections per image out (in the images' pixels, class ids of `class_names`)."""

    class_names: dict[int, str]
    input_size: tuple[int, int]  # (height, width) the model takes: the readers shrink pictures to fit it

    @property
    def max_batch(self) -> int: ...

    def detect(self, images: Sequence[np.ndarray]) -> list[Detections]: ...


BACKENDS: dict[str, Callable[[Path, BackendOptions], Backend]] = {
    "onnx": OnnxBackend, "ultralytics": UltralyticsBackend, "null": NullBackend}
# `.null`: a stand-in that returns at once (detector/backends/null_backend.py), for capacity benchmarks.
BACKEND_BY_SUFFIX = {".onnx": "onnx", ".pt": "ultralytics", ".null": "null"}


def backend_name(weights: Path) -> str:
    """The backend that runs this weight file, by its suffix."""
    try:
        return BACKEND_BY_SUFFIX[weights.suffix.lower()]
    except KeyError:
        raise ValueError(f"{weights}: no backend for {weights.suffix!r} files "
                         f"(known: {sorted(BACKEND_BY_SUFFIX)})") from None


def open_backend(weights: Path, options: BackendOptions = DEFAULT_OPTIONS) -> Backend:
    """The backend for `weights`, built with `options` (thresholds, and where it runs)."""
    return BACKENDS[backend_name(weights)](weights, options)

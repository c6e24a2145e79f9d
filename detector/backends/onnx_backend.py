"""ONNX Runtime backend for Ultralytics-exported YOLOv8 detectors (CPU, CUDA or TensorRT)."""

from __future__ import annotations

import ast
import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnxruntime as ort

from detector.backends.backend_options import DEFAULT_OPTIONS, BackendOptions
from detector.backends.postprocess import decode_yolov8
from detector.backends.preprocess import letterbox
from detector.backends.providers import (
    ProviderSpec,
    ProviderUnavailable,
    execution_providers,
    fallen_back,
    prepare_engine_cache,
)
from detector.detections import Detections

DYNAMIC_BATCH_LIMIT = 32  # frames per run when the model's batch axis is dynamic

log = logging.getLogger(__name__)


def _session_options(intra_op_threads: int | None) -> ort.SessionOptions:
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # The CPUs this process may use (container limits included), not the machine's.
    options.intra_op_num_threads = intra_op_threads or len(os.sched_getaffinity(0))
    # Idle inference threads must not spin: the camera decoders share these cores.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


class OnnxBackend:
    """A YOLOv8 ONNX file in one ONNX Runtime session; class names, input size and stride come
    from the metadata Ultralytics writes on export.

    >>> backend = OnnxBackend(Path("yolov8n.onnx"))            # doctest: +SKIP
    >>> backend.detect([frame.image])[0].class_id              # doctest: +SKIP
    array([1, 1, 0])
    """

    def __init__(self, weights: Path, options: BackendOptions = DEFAULT_OPTIONS) -> None:
        try:
            providers = execution_providers(options, ort.get_available_providers())
        except ProviderUnavailable as exc:
            raise ProviderUnavailable(f"{weights}: {exc}") from None
        prepare_engine_cache(providers)
        self.weights = Path(weights)
        self.options = options
        self._session = ort.InferenceSession(
            str(self.weights), sess_options=_session_options(options.intra_op_threads), providers=providers)
        self._check_fallback(providers)
        meta = self._session.get_modelmeta().custom_metadata_map
        if "names" not in meta:
            raise ValueError(f"{self.weights}: no 'names' in the ONNX metadata; export it with Ultralytics")
        names = ast.literal_eval(meta["names"])  # Ultralytics writes a Python dict literal
        self.class_names: dict[int, str] = {int(k): str(v) for k, v in names.items()}
        self.stride = int(meta.get("stride", 32))
        imgsz = ast.literal_eval(meta.get("imgsz", "640"))
        self.input_size: tuple[int, int] = (imgsz, imgsz) if isinstance(imgsz, int) else tuple(imgsz)[:2]
        model_input = self._session.get_inputs()[0]
        self._input_name = model_input.name
        batch, _, height, width = model_input.shape
        self._fixed_batch = batch if isinstance(batch, int) else None
        # Fixed spatial shape: pad every image to it; dynamic: only to the stride, saving compute.
        self._fixed_shape = isinstance(height, int) and isinstance(width, int)
        if self._fixed_shape:
            self.input_size = (height, width)

    def _check_fallback(self, providers: list[ProviderSpec]) -> None:
        """A provider asked for by name must run; one picked as the fastest there is may fall back."""
        missing = fallen_back(providers, self.providers)
        if missing and self.options.providers is not None:
            raise ProviderUnavailable(f"{self.weights}: execution provider(s) {missing} failed to start "
                                      f"(running on {self.providers}): see onnxruntime's log above")
        if missing:
            log.warning("%s: %s failed to start, running on %s", self.weights, missing, self.providers)
        else:
            log.info("%s: running on %s", self.weights, self.providers)

    @property
    def providers(self) -> list[str]:
        return list(self._session.get_providers())

    @property
    def max_batch(self) -> int:
        """Images per session run: the model's fixed batch size, or a cap when it is dynamic."""
        return self._fixed_batch or DYNAMIC_BATCH_LIMIT

    def detect(self, images: Sequence[np.ndarray]) -> list[Detections]:
        """Detections for each BGR image, in order; runs the session once per `max_batch` images."""
        results: list[Detections] = []
        for start in range(0, len(images), self.max_batch):
            results.extend(self._run(images[start:start + self.max_batch]))
        return results

    def _run(self, images: Sequence[np.ndarray]) -> list[Detections]:
        tensor, boxes = letterbox(images, self.input_size, None if self._fixed_shape else self.stride)
        if self._fixed_batch and len(images) < self._fixed_batch:
            # A fixed-batch model takes exactly its batch; the padding rows are decoded by nobody.
            filler = np.zeros((self._fixed_batch - len(images), *tensor.shape[1:]), np.float32)
            tensor = np.concatenate([tensor, filler])
        output = self._session.run(None, {self._input_name: tensor})[0]
        return decode_yolov8(output, boxes, self.options)

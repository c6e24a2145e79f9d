"""ONNX Runtime backend for Ultralytics-exported YOLOv8 detectors (CPU, CUDA or TensorRT)."""

from __future__ import annotations

import ast
import logging
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

from common.stage_cpu import Stage, stage_cpu
from detector.backends.backend_options import DEFAULT_OPTIONS, BackendOptions
from detector.backends.postprocess import decode_yolov8
from detector.backends.preprocess import letterbox
from detector.backends.providers import (
    CPU,
    TENSORRT,
    ProviderSpec,
    ProviderUnavailable,
    ShapeRange,
    execution_providers,
    fallen_back,
    prepare_engine_cache,
)
from detector.detections import Detections

DYNAMIC_BATCH_LIMIT = 32  # frames per run when the model's batch axis is dynamic
TRT_OPT_BATCH = 8  # the batch TensorRT tunes a dynamic model for: the detector's default max_batch
CAMERA_PICTURE = (1080, 1920)  # (h, w) of the usual camera picture (16:9), the shape TensorRT tunes for

log = logging.getLogger(__name__)


def _session_options(intra_op_threads: int | None) -> ort.SessionOptions:
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # The CPUs this process may use (container limits included), not the machine's.
    options.intra_op_num_threads = intra_op_threads or len(os.sched_getaffinity(0))
    # Idle inference threads must not spin: the camera decoders share these cores.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


@dataclass(frozen=True, slots=True)
class ModelInput:
    """What an Ultralytics ONNX file says of its input, from its metadata and its graph.

    A model exported with dynamic height and width (`aibrain models export --dynamic`) takes any picture
    letterboxed into `size` and padded only to the stride, so a 16:9 camera costs 640x384, not 640x640:

    >>> ModelInput("images", {0: "person"}, 32, (640, 640), None, True).tensor_size((1080, 1920))
    (384, 640)
    """

    name: str
    class_names: dict[int, str]
    stride: int
    size: tuple[int, int]  # (h, w): the fixed input, or the box a dynamic one letterboxes pictures into
    fixed_batch: int | None  # None: any batch
    dynamic_shape: bool  # height and width take any multiple of the stride up to `size`

    @property
    def max_batch(self) -> int:
        """Images per session run: the model's fixed batch size, or a cap when it is dynamic."""
        return self.fixed_batch or DYNAMIC_BATCH_LIMIT

    def tensor_size(self, picture: tuple[int, int]) -> tuple[int, int]:
        """(h, w) of the input tensor a picture of (h, w) pixels is letterboxed into (as `letterbox` does)."""
        if not self.dynamic_shape:
            return self.size
        scale = min(self.size[0] / picture[0], self.size[1] / picture[1])
        height, width = (math.ceil(round(side * scale) / self.stride) * self.stride for side in picture)
        return height, width

    def shape_range(self) -> ShapeRange | None:
        """TensorRT's optimisation profile for the dynamic axes (None when all are fixed): any batch up to
        `max_batch`, any picture down to one stride, tuned for a batch of 16:9 camera pictures."""
        if self.fixed_batch and not self.dynamic_shape:
            return None
        smallest = (self.stride, self.stride) if self.dynamic_shape else self.size
        opt_batch = self.fixed_batch or min(TRT_OPT_BATCH, self.max_batch)
        return ShapeRange(self.name, (self.fixed_batch or 1, 3, *smallest),
                          (opt_batch, 3, *self.tensor_size(CAMERA_PICTURE)), (self.max_batch, 3, *self.size))


def read_model_input(session: ort.InferenceSession, weights: Path) -> ModelInput:
    """The `ModelInput` of the file a session runs; raises if Ultralytics' metadata is missing."""
    meta = session.get_modelmeta().custom_metadata_map
    if "names" not in meta:
        raise ValueError(f"{weights}: no 'names' in the ONNX metadata; export it with Ultralytics")
    names = ast.literal_eval(meta["names"])  # Ultralytics writes a Python dict literal
    imgsz = ast.literal_eval(meta.get("imgsz", "640"))
    size: tuple[int, int] = (imgsz, imgsz) if isinstance(imgsz, int) else tuple(imgsz)[:2]
    model_input = session.get_inputs()[0]
    batch, _, height, width = model_input.shape
    fixed_shape = isinstance(height, int) and isinstance(width, int)
    return ModelInput(model_input.name, {int(k): str(v) for k, v in names.items()}, int(meta.get("stride", 32)),
                      (height, width) if fixed_shape else size, batch if isinstance(batch, int) else None,
                      dynamic_shape=not fixed_shape)


class OnnxBackend:
    """A YOLOv8 ONNX file in one ONNX Runtime session; class names, input size and stride come
    from the metadata Ultralytics writes on export.

    >>> backend = OnnxBackend(Path("yolov8n.onnx"))            # doctest: +SKIP
    >>> backend.detect([frame.image])[0].class_id              # doctest: +SKIP
    array([1, 1, 0])
    """

    def __init__(self, weights: Path, options: BackendOptions = DEFAULT_OPTIONS) -> None:
        available = ort.get_available_providers()
        try:
            providers = execution_providers(options, available)
        except ProviderUnavailable as exc:
            raise ProviderUnavailable(f"{weights}: {exc}") from None
        prepare_engine_cache(providers)
        self.weights = Path(weights)
        self.options = options
        if any(name == TENSORRT for name, _ in providers):
            # TensorRT takes a dynamic input's range of shapes when the session is built: a CPU session,
            # never run, reads the input first.
            probe = read_model_input(self._open([(CPU, {})], intra_op_threads=1), self.weights)
            providers = execution_providers(options, available, probe.shape_range())
        self._session = self._open(providers, options.intra_op_threads)
        self._check_fallback(providers)
        self.model_input = read_model_input(self._session, self.weights)
        self.class_names = self.model_input.class_names
        self.stride = self.model_input.stride
        self.input_size = self.model_input.size

    def _open(self, providers: list[ProviderSpec], intra_op_threads: int | None) -> ort.InferenceSession:
        return ort.InferenceSession(str(self.weights), sess_options=_session_options(intra_op_threads),
                                    providers=providers)

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
        return self.model_input.max_batch

    @property
    def dynamic_shape(self) -> bool:
        """Whether pictures are padded only to the stride (rectangular inference), not to `input_size`."""
        return self.model_input.dynamic_shape

    def detect(self, images: Sequence[np.ndarray]) -> list[Detections]:
        """Detections for each BGR image, in order; runs the session once per `max_batch` images."""
        results: list[Detections] = []
        for start in range(0, len(images), self.max_batch):
            results.extend(self._run(images[start:start + self.max_batch]))
        return results

    def _run(self, images: Sequence[np.ndarray]) -> list[Detections]:
        fixed_batch = self.model_input.fixed_batch
        with stage_cpu(Stage.PREPROCESS):
            tensor, boxes = letterbox(images, self.input_size, self.stride if self.dynamic_shape else None)
            if fixed_batch and len(images) < fixed_batch:
                # A fixed-batch model takes exactly its batch; the padding rows are decoded by nobody.
                filler = np.zeros((fixed_batch - len(images), *tensor.shape[1:]), np.float32)
                tensor = np.concatenate([tensor, filler])
        with stage_cpu(Stage.INFERENCE):
            output = self._session.run(None, {self.model_input.name: tensor})[0]
        with stage_cpu(Stage.POSTPROCESS):
            return decode_yolov8(output, boxes, self.options)

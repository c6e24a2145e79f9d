"""`.pt` -> ONNX with Ultralytics, proven by loading the result in the ONNX Runtime backend."""

from __future__ import annotations

import hashlib
import math
import os
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from aibrain.assets import PROJECT_ROOT
from aibrain.model_tools.yolo import ModelError, load_yolo
from detector.backends.onnx_backend import CAMERA_PICTURE, OnnxBackend
from detector.model_card import ModelCard, object_kind_lookup

WEIGHT_TYPE_NAMES = {"float": "fp32", "float16": "fp16", "int8": "int8", "uint8": "int8"}
# Where benches and tests keep their exports of the shared weights (git-ignored; never in the shared assets).
EXPORT_CACHE = PROJECT_ROOT / ".cache" / "aibrain-models"


@dataclass(frozen=True)
class OnnxExport:
    """How to export: input side in pixels, dynamic axes, fp16 weights.

    `dynamic_batch` (the CLI's `--dynamic`) makes Ultralytics export every axis dynamic: any batch, and
    any height and width up to `imgsz`, so the backend letterboxes a 16:9 picture to 640x384 (rectangular
    inference) instead of 640x640.
    """

    imgsz: int
    dynamic_batch: bool = False
    half: bool = False

    def cache_name(self, weights: Path) -> str:
        """A folder name for this export of `weights`, unique to their content and these options."""
        digest = hashlib.sha256(weights.read_bytes()).hexdigest()[:12]
        dynamic, half = "-dynamic" if self.dynamic_batch else "", "-half" if self.half else ""
        return f"{weights.stem}-{self.imgsz}{dynamic}{half}-{digest}"


@dataclass(frozen=True)
class OnnxCheck:
    """What the ONNX Runtime backend found in an exported file."""

    path: Path
    classes: int
    input_size: tuple[int, int]
    stride: int
    max_batch: int
    dynamic_batch: bool
    weights_type: str  # the element type of most of the weights: fp32, fp16, int8...
    dynamic_shape: bool  # any height and width up to input_size: pictures padded only to the stride
    camera_input: tuple[int, int]  # (h, w) of the input a 16:9 camera picture runs at

    def __str__(self) -> str:
        batch = f"any batch (up to {self.max_batch} a run)" if self.dynamic_batch else f"batch {self.max_batch}"
        line = (f"{self.path}: {self.classes} classes, input {self.input_size[1]}x{self.input_size[0]}, "
                f"stride {self.stride}, {batch}, {self.weights_type} weights")
        if not self.dynamic_shape:
            return line
        return (f"{line}\n  input up to {self.input_size[1]}x{self.input_size[0]}, letterboxed to the stride "
                f"({self.stride}): {self.camera_input[1]}x{self.camera_input[0]} for 16:9")


def export_onnx(weights: Path, out_dir: Path, options: OnnxExport) -> Path:
    """`out_dir/<weights' stem>.onnx`, exported from the `.pt` file `weights`.

    Ultralytics writes the export beside the `.pt`, whose folder may be read-only (shared weights), so
    it works on a copy. It exports on the CPU even where a GPU exists: a GPU export with fp16 makes
    fp16 inputs, which the backend does not feed; a CPU export converts the weights to fp16 and keeps
    fp32 inputs and outputs, which run anywhere (natively in fp16 on CUDA/TensorRT).
    """
    if weights.suffix.lower() != ".pt":
        raise ModelError(f"{weights}: export takes an Ultralytics .pt checkpoint")
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{weights.stem}.onnx"
    with tempfile.TemporaryDirectory(prefix="aibrain-export-") as work:
        copy = Path(work) / weights.name
        shutil.copy2(weights, copy)
        precision = {"quantize": 16} if options.half else {}
        exported = load_yolo(copy).export(format="onnx", imgsz=options.imgsz, dynamic=options.dynamic_batch,
                                          device="cpu", **precision)
        shutil.move(exported, target)
    return target


def exported_once(weights: Path, options: OnnxExport, cache: Path = EXPORT_CACHE) -> Path:
    """The export of `weights` with `options`, made once into `cache` and found there afterwards (the
    benches' and tests' rectangular model is exported from the shared `.pt`: under a minute on a CPU).
    A half-written export is never found: it is moved into place whole."""
    folder = cache / options.cache_name(weights)
    target = folder / f"{weights.stem}.onnx"
    if not target.is_file():
        cache.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="export-", dir=cache) as work:
            exported = export_onnx(weights, Path(work), options)
            folder.mkdir(exist_ok=True)
            os.replace(exported, target)
    return target


def check_onnx(path: Path, card: ModelCard) -> OnnxCheck:
    """Load `path` in the ONNX Runtime backend and check the card describes its classes; raises if not."""
    backend = OnnxBackend(path)
    try:
        object_kind_lookup(card, backend.class_names)
    except ValueError as exc:
        raise ModelError(f"{path}: {exc}") from None
    import onnx  # comes with the Ultralytics extra, like the exports it inspects

    elements: Counter[int] = Counter()
    for tensor in onnx.load(str(path), load_external_data=False).graph.initializer:
        elements[tensor.data_type] += math.prod(tensor.dims)
    weights_type = onnx.TensorProto.DataType.Name(elements.most_common(1)[0][0]).lower()
    model_input = backend.model_input
    return OnnxCheck(path, len(backend.class_names), backend.input_size, backend.stride, backend.max_batch,
                     dynamic_batch=model_input.fixed_batch is None,
                     weights_type=WEIGHT_TYPE_NAMES.get(weights_type, weights_type),
                     dynamic_shape=model_input.dynamic_shape, camera_input=model_input.tensor_size(CAMERA_PICTURE))

"""`.pt` -> ONNX with Ultralytics, proven by loading the result in the ONNX Runtime backend."""

from __future__ import annotations

import math
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from aibrain.model_tools.yolo import ModelError, load_yolo
from detector.backends.onnx_backend import OnnxBackend
from detector.model_card import ModelCard, object_kind_lookup

WEIGHT_TYPE_NAMES = {"float": "fp32", "float16": "fp16", "int8": "int8", "uint8": "int8"}


@dataclass(frozen=True)
class OnnxExport:
    """How to export: input side in pixels, a batch axis that takes any size, fp16 weights."""

    imgsz: int
    dynamic_batch: bool = False
    half: bool = False


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

    def __str__(self) -> str:
        batch = f"any batch (up to {self.max_batch} a run)" if self.dynamic_batch else f"batch {self.max_batch}"
        return (f"{self.path}: {self.classes} classes, input {self.input_size[1]}x{self.input_size[0]}, "
                f"stride {self.stride}, {batch}, {self.weights_type} weights")


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


def check_onnx(path: Path, card: ModelCard) -> OnnxCheck:
    """Load `path` in the ONNX Runtime backend and check the card describes its classes; raises if not."""
    backend = OnnxBackend(path)
    try:
        object_kind_lookup(card, backend.class_names)
    except ValueError as exc:
        raise ModelError(f"{path}: {exc}") from None
    import onnx  # comes with the Ultralytics extra, like the exports it inspects

    graph = onnx.load(str(path), load_external_data=False).graph
    batch_axis = graph.input[0].type.tensor_type.shape.dim[0]
    elements: Counter[int] = Counter()
    for tensor in graph.initializer:
        elements[tensor.data_type] += math.prod(tensor.dims)
    weights_type = onnx.TensorProto.DataType.Name(elements.most_common(1)[0][0]).lower()
    return OnnxCheck(path, len(backend.class_names), backend.input_size, backend.stride, backend.max_batch,
                     dynamic_batch=not batch_axis.HasField("dim_value"),
                     weights_type=WEIGHT_TYPE_NAMES.get(weights_type, weights_type))

"""What a backend is built with: one frozen value, whichever backend the weights file picks."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class BackendOptions:
    """The thresholds every backend applies, then where each backend runs the model (a backend
    ignores the other's fields).

    >>> BackendOptions(conf=0.4)  # doctest: +NORMALIZE_WHITESPACE
    BackendOptions(conf=0.4, iou=0.45, max_det=300, providers=None, intra_op_threads=None, device=None, imgsz=640,
                   device_id=0, trt_cache_dir=None, trt_fp16=True, trt_workspace_mb=2048)
    """

    conf: float = 0.25  # the lowest class score kept
    iou: float = 0.45  # NMS drops a box that overlaps a better one of its class by more
    max_det: int = 300  # detections per image at most
    providers: tuple[str, ...] | None = None  # ONNX execution providers, best first; None: the fastest there are
    intra_op_threads: int | None = None  # ONNX; None: as many as the CPUs this process may use
    device: str | None = None  # Ultralytics: "cpu", "cuda:0"...; None: its own pick
    imgsz: int = 640  # Ultralytics' input side; an ONNX model's input size is in its metadata
    # ONNX on an NVIDIA GPU (CUDA and TensorRT providers):
    device_id: int = 0  # the GPU, as nvidia-smi numbers them
    trt_cache_dir: Path | None = None  # TensorRT engines kept here across restarts; None: rebuilt each start
    trt_fp16: bool = True  # TensorRT may run layers in fp16 (tensor cores); scores shift slightly
    trt_workspace_mb: int = 2048  # GPU memory TensorRT may use while it builds an engine


DEFAULT_OPTIONS = BackendOptions()  # one shared default: the value is frozen

"""ONNX Runtime execution providers with their options, best first: TensorRT, CUDA, then the CPU.

Pure functions of the backend options and the providers this onnxruntime build offers, so the GPU
settings are built and checked the same way on a machine without a GPU. The CUDA and TensorRT
providers come only with the `onnxruntime-gpu` package (README: GPU); the CPU build lists neither.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import onnxruntime as ort

from detector.backends.backend_options import BackendOptions

TENSORRT = "TensorrtExecutionProvider"
CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"
PREFERRED_PROVIDERS = (TENSORRT, CUDA, CPU)  # each one falls back to the next for what it cannot run
SITE_NAMES = {"tensorrt": TENSORRT, "cuda": CUDA, "cpu": CPU}  # how a site file names them
GPU_INSTALL_HINT = "install onnxruntime-gpu in place of onnxruntime (README: GPU)"

ProviderSpec = tuple[str, dict[str, str]]  # what InferenceSession(providers=...) takes, with options


class ProviderUnavailable(ValueError):
    """The site asked for an execution provider this onnxruntime build does not have."""


@dataclass(frozen=True, slots=True)
class ShapeRange:
    """The shapes a model input with dynamic axes takes: smallest, the one to tune for, largest (N, C, H, W).

    TensorRT builds one engine for the whole range from this profile; without one it builds a new engine
    for each new shape it meets, at run time.

    >>> shapes = ShapeRange("images", (1, 3, 32, 32), (8, 3, 384, 640), (32, 3, 640, 640))
    >>> shapes.trt_options()["trt_profile_opt_shapes"]
    'images:8x3x384x640'
    """

    input_name: str
    min: tuple[int, ...]
    opt: tuple[int, ...]
    max: tuple[int, ...]

    def trt_options(self) -> dict[str, str]:
        """The TensorRT provider's profile options: `name:NxCxHxW` each."""
        def spec(shape: tuple[int, ...]) -> str:
            return f"{self.input_name}:{'x'.join(str(side) for side in shape)}"
        return {"trt_profile_min_shapes": spec(self.min), "trt_profile_opt_shapes": spec(self.opt),
                "trt_profile_max_shapes": spec(self.max)}


def available_providers() -> list[str]:
    """The providers this onnxruntime build has (the GPU build lists CUDA and TensorRT even without a GPU)."""
    return list(ort.get_available_providers())


def chosen_providers(requested: Sequence[str] | None, available: Sequence[str]) -> list[str]:
    """The providers a session gets: those requested, all of which must be available, or, when none
    are requested, the preferred ones this build has (the CPU last whatever the order asked).

    >>> chosen_providers(None, ["CUDAExecutionProvider", "CPUExecutionProvider"])
    ['CUDAExecutionProvider', 'CPUExecutionProvider']
    """
    if requested is None:
        return [name for name in PREFERRED_PROVIDERS if name in available]
    missing = [name for name in requested if name not in available]
    if missing:
        hint = f"; {GPU_INSTALL_HINT}" if {TENSORRT, CUDA} & set(missing) else ""
        raise ProviderUnavailable(f"execution provider(s) {missing} are not in this onnxruntime build "
                                  f"(it has {list(available)}){hint}")
    return list(requested)


def provider_options(name: str, options: BackendOptions, shapes: ShapeRange | None = None) -> dict[str, str]:
    """One provider's options as ONNX Runtime reads them (strings; booleans as True/False); `shapes`, for
    a model input with dynamic axes, gives TensorRT its optimisation profile."""
    if name == TENSORRT:
        trt = {"device_id": str(options.device_id), "trt_fp16_enable": str(options.trt_fp16),
               "trt_max_workspace_size": str(options.trt_workspace_mb * 1024 * 1024)}
        if shapes is not None:
            trt |= shapes.trt_options()
        if options.trt_cache_dir is not None:
            # Building an engine takes minutes per model and input shape: keep them across restarts.
            # The timing cache beside them shortens the build of a new shape.
            cache = str(options.trt_cache_dir)
            trt |= {"trt_engine_cache_enable": "True", "trt_engine_cache_path": cache,
                    "trt_timing_cache_enable": "True", "trt_timing_cache_path": cache}
        return trt
    if name == CUDA:
        return {"device_id": str(options.device_id)}
    return {}


def execution_providers(options: BackendOptions, available: Sequence[str],
                        shapes: ShapeRange | None = None) -> list[ProviderSpec]:
    """(provider, options) for each provider a session is built with, best first; `shapes` as for
    `provider_options`.

    >>> execution_providers(BackendOptions(device_id=1), ["CUDAExecutionProvider", "CPUExecutionProvider"])
    [('CUDAExecutionProvider', {'device_id': '1'}), ('CPUExecutionProvider', {})]
    """
    return [(name, provider_options(name, options, shapes))
            for name in chosen_providers(options.providers, available)]


def prepare_engine_cache(providers: Sequence[ProviderSpec]) -> Path | None:
    """Create the TensorRT engine cache folder the providers name (TensorRT does not); None without one."""
    for name, settings in providers:
        if name == TENSORRT and "trt_engine_cache_path" in settings:
            cache = Path(settings["trt_engine_cache_path"])
            cache.mkdir(parents=True, exist_ok=True)
            return cache
    return None


def fallen_back(chosen: Sequence[ProviderSpec], running: Sequence[str]) -> list[str]:
    """The chosen providers the session does not run on: onnxruntime-gpu lists CUDA and TensorRT even
    where their libraries or the GPU are missing, and then falls back to the next provider.

    >>> fallen_back([("TensorrtExecutionProvider", {}), ("CPUExecutionProvider", {})], ["CPUExecutionProvider"])
    ['TensorrtExecutionProvider']
    """
    return [name for name, _ in chosen if name not in running]

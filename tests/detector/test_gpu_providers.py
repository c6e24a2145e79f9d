"""GPU execution providers, built and checked without a GPU: the options TensorRT and CUDA get from the
backend options, the engine cache folder, and the errors when a provider is missing or fails to start.
The sessions are real onnxruntime (the CPU build here); where a test needs the provider list of the GPU
build (onnxruntime-gpu lists CUDA and TensorRT even on a machine without a GPU), it says so."""

from __future__ import annotations

import logging
from pathlib import Path

import onnxruntime as ort
import pytest

from detector.backends.backend_options import BackendOptions
from detector.backends.onnx_backend import OnnxBackend
from detector.backends.providers import (
    CPU,
    CUDA,
    TENSORRT,
    ProviderUnavailable,
    execution_providers,
    prepare_engine_cache,
)

GPU_BUILD = [TENSORRT, CUDA, CPU]  # what onnxruntime-gpu's get_available_providers() lists


def test_gpu_build_gets_tensorrt_then_cuda_then_cpu(tmp_path: Path) -> None:
    options = BackendOptions(device_id=1, trt_cache_dir=tmp_path / "engines", trt_fp16=True, trt_workspace_mb=3072)
    providers = execution_providers(options, GPU_BUILD)
    assert [name for name, _ in providers] == [TENSORRT, CUDA, CPU]
    trt, cuda, cpu = (settings for _, settings in providers)
    assert trt == {"device_id": "1", "trt_fp16_enable": "True", "trt_max_workspace_size": str(3072 * 2**20),
                   "trt_engine_cache_enable": "True", "trt_engine_cache_path": str(tmp_path / "engines"),
                   "trt_timing_cache_enable": "True", "trt_timing_cache_path": str(tmp_path / "engines")}
    assert cuda == {"device_id": "1"} and cpu == {}


def test_no_cache_folder_means_no_engine_cache() -> None:
    (_, trt), _, _ = execution_providers(BackendOptions(trt_fp16=False), GPU_BUILD)
    assert trt == {"device_id": "0", "trt_fp16_enable": "False", "trt_max_workspace_size": str(2048 * 2**20)}


def test_cpu_build_runs_on_the_cpu(yolo_onnx: Path, tmp_path: Path) -> None:
    options = BackendOptions(trt_cache_dir=tmp_path / "engines")
    assert execution_providers(options, ort.get_available_providers()) == [(CPU, {})]
    backend = OnnxBackend(yolo_onnx, options)
    assert backend.providers == [CPU]
    assert not (tmp_path / "engines").exists()  # no TensorRT, no engines to keep


def test_the_engine_cache_folder_is_created(tmp_path: Path) -> None:
    cache = tmp_path / "var" / "trt-engines"
    providers = execution_providers(BackendOptions(trt_cache_dir=cache), GPU_BUILD)
    assert prepare_engine_cache(providers) == cache and cache.is_dir()
    assert prepare_engine_cache(providers) == cache  # a restart finds it there
    assert prepare_engine_cache(execution_providers(BackendOptions(trt_cache_dir=cache), [CUDA, CPU])) is None


def test_asking_for_tensorrt_in_the_cpu_build_names_the_file_and_the_fix(yolo_onnx: Path, tmp_path: Path) -> None:
    options = BackendOptions(providers=(TENSORRT, CUDA, CPU), trt_cache_dir=tmp_path / "engines")
    with pytest.raises(ProviderUnavailable) as caught:
        OnnxBackend(yolo_onnx, options)
    message = str(caught.value)
    assert str(yolo_onnx) in message and TENSORRT in message and CUDA in message
    assert "onnxruntime-gpu" in message and str(ort.get_available_providers()) in message
    assert not (tmp_path / "engines").exists()


def test_a_gpu_provider_that_fails_to_start(yolo_onnx: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            caplog: pytest.LogCaptureFixture) -> None:
    """onnxruntime-gpu on a machine without a GPU: the providers are listed, the session falls back to
    the CPU. Asked for by name, that is an error; picked as the fastest there are, a warning."""
    monkeypatch.setattr(ort, "get_available_providers", lambda: GPU_BUILD)
    cache = tmp_path / "engines"
    with pytest.warns(UserWarning), caplog.at_level(logging.WARNING, "detector.backends.onnx_backend"):
        backend = OnnxBackend(yolo_onnx, BackendOptions(trt_cache_dir=cache))
    assert backend.providers == [CPU] and cache.is_dir()  # the folder was made for TensorRT, then passed
    assert f"['{TENSORRT}', '{CUDA}'] failed to start" in caplog.text
    with pytest.warns(UserWarning), pytest.raises(ProviderUnavailable, match=rf"\['{CUDA}'\] failed to start"):
        OnnxBackend(yolo_onnx, BackendOptions(providers=(CUDA, CPU)))

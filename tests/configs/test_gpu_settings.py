"""The site's GPU settings: the detector's execution providers and TensorRT options, and a camera's
decode_device. What this machine cannot run (no onnxruntime-gpu, no NVIDIA GPU, no PyNvVideoCodec) is
a problem naming the file, the field and the camera, from `aibrain check-config` as from a start."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from aibrain import assemble
from configs.load import load_site
from configs.problems import ConfigError
from detector.backends.providers import CPU, available_providers
from streams.decoder_choice import DecodeDevice, nvdec_missing
from tests.app.test_cli import aibrain
from tests.configs.test_load_site import good_site, write_site

NO_GPU_BUILD = "CUDAExecutionProvider" not in available_providers()


def problems(tmp_path: Path, site: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_site(write_site(tmp_path, site))
    return [str(problem) for problem in caught.value.problems]


def test_defaults_and_what_the_model_is_built_with(tmp_path: Path, yolo_onnx: Path) -> None:
    site = load_site(write_site(tmp_path, good_site() | {"model": str(yolo_onnx), "detector": {
        "providers": ["cpu"], "device_id": 1, "trt_cache_dir": "engines", "trt_fp16": False,
        "trt_workspace_mb": 1024}}))
    assert site.config.cameras[0].decode_device is DecodeDevice.CPU
    options = assemble.open_model(site).backend.options  # type: ignore[attr-defined]
    assert (options.providers, options.device_id, options.trt_cache_dir, options.trt_fp16, options.trt_workspace_mb) \
        == ((CPU,), 1, tmp_path / "engines", False, 1024)
    default = load_site(write_site(tmp_path, good_site())).config.detector
    assert (default.providers, default.device_id, default.trt_cache_dir, default.trt_fp16, default.trt_workspace_mb) \
        == (None, 0, Path("var/trt-engines"), True, 2048)


@pytest.mark.parametrize(("detector", "message"), [
    ({"providers": ["cpu", "cpu"]}, "a provider is named twice"),
    ({"providers": []}, "at least 1 item"),
    ({"providers": ["openvino"]}, "'tensorrt', 'cuda' or 'cpu'"),
    ({"device_id": -1}, "greater than or equal to 0"),
    ({"trt_workspace_mb": 16}, "greater than or equal to 64"),
])
def test_bad_detector_settings(tmp_path: Path, detector: dict[str, Any], message: str) -> None:
    [problem] = problems(tmp_path, good_site() | {"detector": detector})
    assert problem.startswith(f"{tmp_path / 'site.yaml'}: detector.") and message in problem, problem


@pytest.mark.skipif(not NO_GPU_BUILD, reason="this onnxruntime has the CUDA provider")
def test_a_provider_this_build_lacks(tmp_path: Path) -> None:
    [problem] = problems(tmp_path, good_site() | {"detector": {"providers": ["tensorrt", "cuda", "cpu"]}})
    assert problem.startswith(f"{tmp_path / 'site.yaml'}: detector.providers: execution provider(s) "
                              "['TensorrtExecutionProvider', 'CUDAExecutionProvider'] are not in this onnxruntime "
                              "build"), problem
    assert "install onnxruntime-gpu in place of onnxruntime" in problem


@pytest.mark.skipif(nvdec_missing() is None, reason="this machine can decode with NVDEC")
def test_cuda_decoding_where_nvdec_cannot_run_is_refused_by_check_config(tmp_path: Path) -> None:
    site = good_site()
    site["cameras"][0]["decode_device"] = "cuda"
    path = write_site(tmp_path, site)
    run = aibrain("check-config", str(path))
    assert run.returncode == 2, run.stderr
    assert f"error: {path}: cameras[0] (cam-01).decode_device: cuda: {nvdec_missing()}; or decode_device: cpu" \
        in run.stderr, run.stderr
    site["cameras"][0]["decode_device"] = "gpu"
    assert "cameras[0] (cam-01).decode_device: Input should be 'cpu' or 'cuda'" in problems(tmp_path, site)[0]

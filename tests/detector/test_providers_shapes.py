"""TensorRT's optimisation profile for a model with dynamic axes, built as option strings without a GPU:
the shapes come from the model's input (`ModelInput.shape_range`), the strings from `ShapeRange`."""

from __future__ import annotations

import numpy as np
import pytest

from detector.backends.backend_options import BackendOptions
from detector.backends.onnx_backend import ModelInput
from detector.backends.preprocess import letterbox
from detector.backends.providers import CPU, CUDA, TENSORRT, ShapeRange, execution_providers

GPU_BUILD = [TENSORRT, CUDA, CPU]
PROFILE_KEYS = {"trt_profile_min_shapes", "trt_profile_opt_shapes", "trt_profile_max_shapes"}


def test_a_dynamic_model_gets_a_profile_from_one_stride_to_its_largest_batch_tuned_for_16_9() -> None:
    shapes = ModelInput("images", {0: "car"}, 32, (640, 640), None, dynamic_shape=True).shape_range()
    assert shapes == ShapeRange("images", (1, 3, 32, 32), (8, 3, 384, 640), (32, 3, 640, 640))
    (_, trt), (_, cuda), (_, cpu) = execution_providers(BackendOptions(), GPU_BUILD, shapes)
    assert trt["trt_profile_min_shapes"] == "images:1x3x32x32"
    assert trt["trt_profile_opt_shapes"] == "images:8x3x384x640"
    assert trt["trt_profile_max_shapes"] == "images:32x3x640x640"
    assert trt["trt_fp16_enable"] == "True"  # the profile adds to the other options
    assert cuda == {"device_id": "0"} and cpu == {}  # only TensorRT reads a profile


def test_a_dynamic_batch_alone_ranges_over_the_batch() -> None:
    shapes = ModelInput("images", {0: "car"}, 32, (640, 640), None, dynamic_shape=False).shape_range()
    assert shapes == ShapeRange("images", (1, 3, 640, 640), (8, 3, 640, 640), (32, 3, 640, 640))


def test_a_fixed_model_gets_no_profile() -> None:
    assert ModelInput("images", {0: "car"}, 32, (640, 640), 1, dynamic_shape=False).shape_range() is None
    (_, trt), _, _ = execution_providers(BackendOptions(), GPU_BUILD, None)
    assert not PROFILE_KEYS & set(trt)


def test_the_16_9_and_4_3_tensors_of_a_dynamic_model() -> None:
    model = ModelInput("images", {0: "car"}, 32, (640, 640), None, dynamic_shape=True)
    assert model.tensor_size((1080, 1920)) == model.tensor_size((360, 640)) == (384, 640)
    assert model.tensor_size((576, 704)) == (544, 640)  # D1 sub-stream, as stored (not its display aspect)
    assert model.tensor_size((1920, 1080)) == (640, 384)  # a camera turned on its side
    assert ModelInput("images", {}, 32, (640, 640), 1, dynamic_shape=False).tensor_size((1080, 1920)) == (640, 640)


@pytest.mark.parametrize("picture", [(1080, 1920), (360, 640), (576, 704), (480, 640), (1920, 1080), (301, 997),
                                     (640, 640), (100, 2000), (33, 31)])
def test_the_tensor_size_is_the_one_letterbox_makes(picture: tuple[int, int]) -> None:
    model = ModelInput("images", {0: "car"}, 32, (640, 640), None, dynamic_shape=True)
    tensor, _ = letterbox([np.zeros((*picture, 3), np.uint8)], model.size, model.stride)
    assert tensor.shape[2:] == model.tensor_size(picture)

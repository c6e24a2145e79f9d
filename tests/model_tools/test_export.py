"""`aibrain models export` without Ultralytics: the flags it passes on, the cache of exports the benches and
tests share, and what `check_onnx` reports of a file, read from tiny ONNX graphs made here with onnx.helper."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import onnx
import pytest
from onnx import TensorProto, helper

from aibrain.cli import build_parser
from aibrain.model_tools import export
from aibrain.model_tools.export import OnnxExport, check_onnx, export_onnx, exported_once
from detector.model_card import ModelCard

CARD = ModelCard(name="tiny", description="d", weights=["tiny.onnx"], licence="MIT", provenance="p",
                 object_kinds={"bicycle": "non_motor_vehicle"})


def tiny_onnx(path: Path, shape: list[int | str]) -> Path:
    """An 'Ultralytics' file that ONNX Runtime loads: its metadata, an input of `shape`, one weight."""
    scale = helper.make_tensor("scale", TensorProto.FLOAT, [1], [1.0])
    graph = helper.make_graph([helper.make_node("Mul", ["images", "scale"], ["output0"])], "tiny",
                              [helper.make_tensor_value_info("images", TensorProto.FLOAT, shape)],
                              [helper.make_tensor_value_info("output0", TensorProto.FLOAT, shape)], [scale])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    helper.set_model_props(model, {"names": "{0: 'bicycle', 1: 'person'}", "stride": "32", "imgsz": "[640, 640]"})
    onnx.save(model, str(path))
    return path


class FakeYolo:
    """What `load_yolo` returns, recording the export's arguments and writing a file as Ultralytics does."""

    def __init__(self, weights: Path, calls: list[dict[str, Any]]) -> None:
        self.weights, self.calls = weights, calls

    def export(self, **kwargs: Any) -> str:
        self.calls.append(kwargs)
        out = self.weights.with_suffix(".onnx")
        out.write_bytes(b"onnx")
        return str(out)


@pytest.fixture
def export_calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(export, "load_yolo", lambda weights: FakeYolo(Path(weights), calls))
    return calls


@pytest.mark.parametrize("flag", ["--dynamic", "--dynamic-batch"])
def test_both_flags_export_every_axis_dynamic(flag: str, export_calls: list[dict[str, Any]], tmp_path: Path) -> None:
    args = build_parser().parse_args(["models", "export", "yolov8n", flag])
    assert args.dynamic_batch is True
    weights = tmp_path / "m.pt"
    weights.write_bytes(b"pt")
    out = export_onnx(weights, tmp_path / "out", OnnxExport(640, dynamic_batch=args.dynamic_batch))
    assert out == tmp_path / "out" / "m.onnx" and out.read_bytes() == b"onnx"
    assert export_calls == [{"format": "onnx", "imgsz": 640, "dynamic": True, "device": "cpu"}]
    assert build_parser().parse_args(["models", "export", "yolov8n"]).dynamic_batch is False


def test_an_export_is_made_once_per_weights_and_options(export_calls: list[dict[str, Any]], tmp_path: Path) -> None:
    weights, cache = tmp_path / "m.pt", tmp_path / "cache"
    weights.write_bytes(b"pt")
    rect = OnnxExport(640, dynamic_batch=True)
    first = exported_once(weights, rect, cache)
    assert exported_once(weights, rect, cache) == first and len(export_calls) == 1
    assert first.name == "m.onnx" and first.parent.name.startswith("m-640-dynamic-")
    assert sorted(p.name for p in cache.iterdir()) == [first.parent.name]  # no work folder left behind
    assert exported_once(weights, OnnxExport(640), cache) != first  # other options: another export
    weights.write_bytes(b"retrained")
    assert exported_once(weights, rect, cache) != first  # other weights: another export
    assert len(export_calls) == 3


def test_check_reports_a_dynamic_shape_and_the_16_9_input(tmp_path: Path) -> None:
    check = check_onnx(tiny_onnx(tmp_path / "tiny.onnx", ["batch", 3, "height", "width"]), CARD)
    assert check.dynamic_batch and check.dynamic_shape and check.camera_input == (384, 640)
    assert str(check).splitlines() == [
        f"{tmp_path / 'tiny.onnx'}: 2 classes, input 640x640, stride 32, any batch (up to 32 a run), fp32 weights",
        "  input up to 640x640, letterboxed to the stride (32): 640x384 for 16:9"]


def test_check_reports_a_fixed_shape_on_one_line(tmp_path: Path) -> None:
    check = check_onnx(tiny_onnx(tmp_path / "tiny.onnx", [1, 3, 640, 640]), CARD)
    assert not check.dynamic_batch and not check.dynamic_shape and check.camera_input == (640, 640)
    assert str(check) == f"{tmp_path / 'tiny.onnx'}: 2 classes, input 640x640, stride 32, batch 1, fp32 weights"

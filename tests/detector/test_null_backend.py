"""The `.null` backend (detector/backends/null_backend.py): picked by its suffix, names its classes, and answers
every picture at once with the file's fixed boxes in that picture's pixels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from pydantic import ValidationError

from detector.backends.backend import backend_name, open_backend
from detector.backends.backend_options import BackendOptions
from detector.backends.null_backend import NullBackend


def null_file(folder: Path, **content: object) -> Path:
    path = folder / "stand-in.null"
    path.write_text(yaml.safe_dump(content), encoding="utf-8")
    return path


def test_the_suffix_picks_it(tmp_path: Path) -> None:
    assert backend_name(Path("coco.null")) == "null" and backend_name(Path("COCO.NULL")) == "null"
    backend = open_backend(null_file(tmp_path, class_names=["person", "bicycle"]))
    assert isinstance(backend, NullBackend)


def test_class_names_as_a_list_or_a_map_and_the_input_size(tmp_path: Path) -> None:
    listed = NullBackend(null_file(tmp_path, class_names=["person", "bicycle", "car"]))
    assert listed.class_names == {0: "person", 1: "bicycle", 2: "car"} and listed.input_size == (640, 640)
    mapped = NullBackend(null_file(tmp_path, class_names={0: "person", 2: "car"}, input_size=[384, 640]))
    assert mapped.class_names == {0: "person", 2: "car"} and mapped.input_size == (384, 640)


def test_without_detections_every_picture_gets_none(tmp_path: Path) -> None:
    backend = NullBackend(null_file(tmp_path, class_names=["person"]))
    results = backend.detect([np.zeros((360, 640, 3), np.uint8)] * 3)
    assert [len(r) for r in results] == [0, 0, 0] and backend.max_batch >= 8


def test_fixed_boxes_come_back_in_each_pictures_pixels(tmp_path: Path) -> None:
    backend = NullBackend(null_file(tmp_path, class_names=["person", "bicycle", "car"], detections=[
        {"box": [0.1, 0.5, 0.3, 0.9], "class": "car", "score": 0.8},
        {"box": [0.5, 0.5, 1.0, 1.0], "class": "bicycle"}]))
    small, full = backend.detect([np.zeros((360, 640, 3), np.uint8), np.zeros((1080, 1920, 3), np.uint8)])
    assert np.allclose(small.xyxy, [[64, 180, 192, 324], [320, 180, 640, 360]])
    assert np.allclose(full.xyxy, small.xyxy * 3)
    assert small.class_id.tolist() == [2, 1] and np.allclose(small.confidence, [0.8, 0.9])
    assert (small.tracker_id == -1).all()


def test_the_confidence_threshold_applies_as_to_a_model(tmp_path: Path) -> None:
    path = null_file(tmp_path, class_names=["person"], detections=[{"box": [0, 0, 1, 1], "class": "person",
                                                                     "score": 0.3}])
    assert len(NullBackend(path, BackendOptions(conf=0.25)).detect([np.zeros((8, 8, 3), np.uint8)])[0]) == 1
    assert len(NullBackend(path, BackendOptions(conf=0.5)).detect([np.zeros((8, 8, 3), np.uint8)])[0]) == 0


def test_a_box_of_an_unnamed_class_or_an_unknown_field_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="truck"):
        NullBackend(null_file(tmp_path, class_names=["car"], detections=[{"box": [0, 0, 1, 1], "class": "truck"}]))
    with pytest.raises(ValidationError, match="colour"):
        NullBackend(null_file(tmp_path, class_names=["car"], colour="red"))

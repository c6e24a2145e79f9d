from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from detector.model_card import (
    CardNotFound,
    WeightsNotFound,
    known_object_kinds,
    list_cards,
    load_card,
    object_kind_lookup,
    resolve_weights,
)

COCO_SUBSET = {0: "person", 1: "bicycle", 2: "car", 3: "motorcycle", 4: "airplane", 5: "bus",
               7: "truck", 13: "bench", 25: "umbrella", 28: "suitcase", 56: "chair", 58: "potted plant",
               60: "dining table"}


def test_shipped_yolov8n_card() -> None:
    card = load_card("yolov8n")
    assert "yolov8n" in list_cards()
    assert card.download == "yolov8n.pt" and card.input_size == 640 and card.licence == "AGPL-3.0"
    assert card.object_kinds["bicycle"] == card.object_kinds["motorcycle"] == "non_motor_vehicle"
    assert {card.object_kinds[c] for c in ("car", "truck", "bus")} == {"motor_vehicle"}
    assert {"person", "umbrella", "chair", "table", "potted_plant", "bench", "luggage"} <= set(
        known_object_kinds(card))


def test_card_by_path_and_strict_schema(tmp_path: Path) -> None:
    path = tmp_path / "custom.yaml"
    path.write_text("name: custom\ndescription: d\nweights: [c.onnx]\nlicence: MIT\nprovenance: p\n"
                    "object_kinds: {e_bike: non_motor_vehicle}\n", encoding="utf-8")
    assert load_card(path).object_kinds == {"e_bike": "non_motor_vehicle"}
    path.write_text(path.read_text(encoding="utf-8") + "colour: red\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="colour"):
        load_card(str(path))


def test_unknown_card_names_the_shipped_ones() -> None:
    with pytest.raises(CardNotFound, match="yolov8n"):
        load_card("no-such-model")


def test_resolve_weights_searches_dirs_in_order(tmp_path: Path) -> None:
    card = load_card("yolov8n")
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    (second / "yolov8n.onnx").write_bytes(b"x")
    assert resolve_weights(card, [first, second]) == second / "yolov8n.onnx"
    (first / "yolov8n_coco_dq.onnx").write_bytes(b"x")
    assert resolve_weights(card, [first, second]) == first / "yolov8n_coco_dq.onnx"


def test_missing_weights_error_says_what_where_and_how(tmp_path: Path) -> None:
    with pytest.raises(WeightsNotFound) as caught:
        resolve_weights(load_card("yolov8n"), [tmp_path])
    message = str(caught.value)
    assert "yolov8n" in message and "yolov8n_coco_dq.onnx" in message and str(tmp_path) in message
    assert "aibrain models fetch" in message


def test_object_kind_lookup_is_indexable_by_class_id() -> None:
    card = load_card("yolov8n")
    kinds = known_object_kinds(card)
    lookup = object_kind_lookup(card, COCO_SUBSET)
    assert kinds[lookup[1]] == kinds[lookup[3]] == "non_motor_vehicle"
    assert kinds[lookup[7]] == "motor_vehicle" and kinds[lookup[60]] == "table"
    assert lookup[4] == -1 and lookup[6] == -1  # airplane, and an id the model lacks


def test_lookup_refuses_a_card_for_another_model() -> None:
    with pytest.raises(ValueError, match="bicycle"):
        object_kind_lookup(load_card("yolov8n"), {0: "stall", 1: "poster"})

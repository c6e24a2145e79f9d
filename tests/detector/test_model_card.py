from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from detector.model_card import (
    OBJECT_KINDS,
    CardNotFound,
    ModelCard,
    WeightsNotFound,
    known_object_kinds,
    list_cards,
    load_card,
    object_kind_lookup,
    object_kinds_for,
    resolve_weights,
    save_card,
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


def test_custom_street_order_template_names_every_custom_class() -> None:
    template = load_card("custom-street-order")
    assert template.weights == [] and template.download is None and "FILL IN" in template.licence
    for name in ("stall", "vendor_cart", "goods", "rack", "materials", "garbage_pile", "poster", "banner",
                 "laundry", "shed"):
        assert template.object_kinds[name] == name
    assert template.object_kinds["e_bike"] == template.object_kinds["tricycle"] == "non_motor_vehicle"
    assert {template.object_kinds[c] for c in ("car", "truck", "bus")} == {"motor_vehicle"}
    # Between them the shipped cards produce every object kind rules speak of, and no other.
    produced = {kind for name in list_cards() for kind in load_card(name).object_kinds.values()}
    assert produced == set(OBJECT_KINDS)


def test_a_template_has_no_weights_to_resolve(tmp_path: Path) -> None:
    with pytest.raises(WeightsNotFound, match="template.*aibrain models train"):
        resolve_weights(load_card("custom-street-order"), [tmp_path])


def test_resolve_weights_of_one_format(tmp_path: Path) -> None:
    card = load_card("yolov8n")
    (tmp_path / "yolov8n_coco_dq.onnx").write_bytes(b"x")
    (tmp_path / "yolov8n_coco_dq.pt").write_bytes(b"x")
    assert resolve_weights(card, [tmp_path]).suffix == ".onnx"
    assert resolve_weights(card, [tmp_path], suffixes=[".pt"]) == tmp_path / "yolov8n_coco_dq.pt"
    onnx_only = card.model_copy(update={"weights": ["yolov8n.onnx"]})
    with pytest.raises(WeightsNotFound, match=r"names no \.pt weights"):
        resolve_weights(onnx_only, [tmp_path], suffixes=[".pt"])


def test_missing_weights_of_a_card_without_download_point_to_training(tmp_path: Path) -> None:
    card = ModelCard(name="street", description="d", weights=["street.onnx"], licence="l", provenance="p",
                     object_kinds={"stall": "stall"})
    with pytest.raises(WeightsNotFound, match="aibrain models train") as caught:
        resolve_weights(card, [tmp_path])
    assert "fetch" not in str(caught.value)


def test_class_names_take_the_kind_of_the_first_card_that_knows_them() -> None:
    references = [load_card("yolov8n"), load_card("custom-street-order")]
    kinds = object_kinds_for(["bicycle", "e_bike", "dining table", "stall", "scooter_rack"], references)
    assert kinds == {"bicycle": "non_motor_vehicle", "e_bike": "non_motor_vehicle", "dining table": "table",
                     "stall": "stall", "scooter_rack": "scooter_rack"}
    first = ModelCard(name="f", description="d", licence="l", provenance="p", object_kinds={"e_bike": "e_bike"})
    assert object_kinds_for(["e_bike"], [first, *references]) == {"e_bike": "e_bike"}


def test_saved_card_loads_back_the_same(tmp_path: Path) -> None:
    card = load_card("yolov8n").model_copy(update={"name": "copy", "description": "路口 camera's model"})
    save_card(card, tmp_path / "copy.yaml", "written by a test\nsecond line")
    text = (tmp_path / "copy.yaml").read_text(encoding="utf-8")
    assert text.startswith("# written by a test\n# second line\n") and "路口" in text
    assert load_card(tmp_path / "copy.yaml") == card

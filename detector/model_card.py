"""Model cards: a model's weights candidates, input size and the map class name -> object kind.

Rules speak of object kinds (`non_motor_vehicle`, `motor_vehicle`, ...), never of class ids, so a
custom-trained model is a new card, not new code.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field

CARDS_PACKAGE = "models"
FETCH_HINT = "aibrain models fetch"


class ModelCard(BaseModel):
    """What the detector knows about one model besides its weights.

    >>> card = ModelCard(name="m", description="d", weights=["m.onnx"], licence="MIT",
    ...                  provenance="p", object_kinds={"bicycle": "non_motor_vehicle"})
    >>> known_object_kinds(card)
    ('non_motor_vehicle',)
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, description="card name, also its file name without .yaml")
    description: str
    weights: list[str] = Field(min_length=1, description="candidate weight file names, in preference order")
    download: str | None = Field(None, description="Ultralytics name that fetches official weights")
    input_size: int = Field(640, gt=0, multiple_of=32, description="square input side in pixels")
    licence: str
    provenance: str
    object_kinds: dict[str, str] = Field(description="model class name -> object kind used by rules")


class CardNotFound(LookupError):
    pass


class WeightsNotFound(FileNotFoundError):
    pass


def _card_files() -> dict[str, Traversable]:
    return {f.name.removesuffix(".yaml"): f for f in resources.files(CARDS_PACKAGE).iterdir()
            if f.name.endswith(".yaml")}


def list_cards() -> list[str]:
    """Names of the cards shipped in the `models` package."""
    return sorted(_card_files())


def load_card(name_or_path: str | Path) -> ModelCard:
    """A shipped card by name (`"yolov8n"`) or any card file by path (`"site/custom.yaml"`)."""
    as_path = Path(name_or_path)
    if isinstance(name_or_path, Path) or as_path.suffix in (".yaml", ".yml") or len(as_path.parts) > 1:
        if not as_path.is_file():
            raise CardNotFound(f"model card file {as_path} does not exist")
        text = as_path.read_text(encoding="utf-8")
    else:
        cards = _card_files()
        if str(name_or_path) not in cards:
            raise CardNotFound(f"no model card named {name_or_path!r}; shipped cards: {sorted(cards)}")
        text = cards[str(name_or_path)].read_text(encoding="utf-8")
    return ModelCard.model_validate(yaml.safe_load(text))


def resolve_weights(card: ModelCard, search_dirs: Sequence[Path]) -> Path:
    """The first weight file of the card found; directories are searched in the order given,
    each for every candidate in the card's preference order."""
    for directory in search_dirs:
        for candidate in card.weights:
            path = Path(directory) / candidate
            if path.is_file():
                return path
    how = f"`{FETCH_HINT} {card.name}`" + (f" (downloads {card.download})" if card.download else "")
    raise WeightsNotFound(
        f"model card {card.name!r}: none of {card.weights} found in "
        f"{[str(d) for d in search_dirs]}; get weights with {how} or copy a file there")


def known_object_kinds(card: ModelCard) -> tuple[str, ...]:
    """The card's object kinds, sorted; `object_kind_lookup` indexes into this tuple."""
    return tuple(sorted(set(card.object_kinds.values())))


def object_kind_lookup(card: ModelCard, class_names: dict[int, str]) -> np.ndarray:
    """Array indexed by class id: index into `known_object_kinds(card)`, or -1 for no kind.

    Raises if the card names classes the model does not have: the card belongs to another model.
    """
    missing = set(card.object_kinds) - set(class_names.values())
    if missing:
        raise ValueError(f"model card {card.name!r} names classes the model lacks: {sorted(missing)}")
    kinds = known_object_kinds(card)
    lookup = np.full(max(class_names, default=-1) + 1, -1, dtype=np.int64)
    for class_id, class_name in class_names.items():
        if class_name in card.object_kinds:
            lookup[class_id] = kinds.index(card.object_kinds[class_name])
    return lookup

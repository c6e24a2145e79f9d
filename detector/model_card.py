"""Model cards: a model's weights candidates, input size and the map class name -> object kind.

Rules speak of object kinds (`non_motor_vehicle`, `motor_vehicle`, ...), never of class ids, so a
custom-trained model is a new card, not new code. A card without weights is a template: it documents
the classes to label, and `aibrain models train` writes the card of the model trained from them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field

CARDS_PACKAGE = "models"
# Where `aibrain models fetch/train/export` put weights and cards; every site looks there last.
USER_MODEL_DIR = Path("~/.cache/aibrain/models").expanduser()
FETCH_HINT = "aibrain models fetch"
TRAIN_HINT = "aibrain models train"

# The object kinds the shipped rules and the taxonomy speak of. A card may map a class to any other
# name, but only rules written for that name will ever see it.
OBJECT_KINDS = (
    "non_motor_vehicle", "motor_vehicle", "person",
    "umbrella", "table", "chair", "potted_plant", "bench", "luggage",
    "stall", "vendor_cart", "goods", "rack", "materials", "garbage_pile", "cartons",
    "poster", "flyer", "banner", "laundry", "shed", "tent", "awning",
)


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
    weights: list[str] = Field(default_factory=list,
                               description="candidate weight file names, in preference order; none: a template")
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


def names_a_file(reference: str) -> bool:
    """Whether a card reference is a file's path (`site/custom.yaml`) rather than a shipped card's name."""
    path = Path(reference)
    return path.suffix in (".yaml", ".yml") or len(path.parts) > 1


def load_card(name_or_path: str | Path, search_dirs: Sequence[Path] = ()) -> ModelCard:
    """A card by path (`"site/custom.yaml"`), or by name: a shipped card (`"yolov8n"`), else
    `<name>.yaml` in the first of `search_dirs` holding one (where `aibrain models train` writes)."""
    as_path = Path(name_or_path)
    if isinstance(name_or_path, Path) or names_a_file(name_or_path):
        if not as_path.is_file():
            raise CardNotFound(f"model card file {as_path} does not exist")
        text = as_path.read_text(encoding="utf-8")
    else:
        cards = _card_files()
        found = cards.get(str(name_or_path)) or next(
            (path for d in search_dirs if (path := d / f"{name_or_path}.yaml").is_file()), None)
        if found is not None:
            text = found.read_text(encoding="utf-8")
        else:
            raise CardNotFound(f"no model card named {name_or_path!r}; shipped cards: {sorted(cards)}, "
                               f"and none in {[str(d) for d in search_dirs]}")
    return ModelCard.model_validate(yaml.safe_load(text))


def resolve_weights(card: ModelCard, search_dirs: Sequence[Path], suffixes: Sequence[str] | None = None) -> Path:
    """The first weight file of the card found; directories are searched in the order given,
    each for every candidate in the card's preference order. `suffixes` (e.g. `[".pt"]`) keeps only
    candidates of those formats."""
    candidates = [c for c in card.weights if suffixes is None or Path(c).suffix.lower() in suffixes]
    for directory in search_dirs:
        for candidate in candidates:
            path = Path(directory) / candidate
            if path.is_file():
                return path
    if not card.weights:
        raise WeightsNotFound(f"model card {card.name!r} is a template and names no weights; train a model "
                              f"from it with `{TRAIN_HINT} --data DATASET.yaml --base yolov8n`")
    if not candidates:
        raise WeightsNotFound(f"model card {card.name!r} names no {'/'.join(suffixes or ())} weights "
                              f"(it has {card.weights})")
    how = (f"`{FETCH_HINT} {card.name}` (downloads {card.download})" if card.download
           else f"`{TRAIN_HINT}`")
    raise WeightsNotFound(
        f"model card {card.name!r}: none of {candidates} found in "
        f"{[str(d) for d in search_dirs]}; get weights with {how} or copy a file there")


def save_card(card: ModelCard, path: Path, header: str) -> None:
    """Write `card` as YAML that `load_card` reads back, under `header` as comment lines."""
    comment = "".join(f"# {line}\n" for line in header.splitlines())
    body = yaml.safe_dump(card.model_dump(exclude_none=True), sort_keys=False, allow_unicode=True, width=100)
    path.write_text(comment + body, encoding="utf-8")


def object_kinds_for(class_names: Iterable[str], references: Sequence[ModelCard]) -> dict[str, str]:
    """Object kind of each class name: what the first reference card that knows the name maps it to,
    else the name itself (`stall` is its own kind; an unknown name needs rules written for it).

    >>> coco = ModelCard(name="c", description="d", licence="l", provenance="p",
    ...                  object_kinds={"bicycle": "non_motor_vehicle"})
    >>> object_kinds_for(["bicycle", "stall"], [coco])
    {'bicycle': 'non_motor_vehicle', 'stall': 'stall'}
    """
    return {name: next((card.object_kinds[name] for card in references if name in card.object_kinds), name)
            for name in class_names}


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

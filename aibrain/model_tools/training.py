"""Fine-tune a card's `.pt` on a YOLO-format dataset with Ultralytics, and write the new model's card.

The result is a model directory a site can point at: `<name>.yaml` (the card), `<name>.pt` (the best
epoch), `<name>.onnx` (its export, any batch size) and `runs/<name>/` (Ultralytics' run: args,
per-epoch results).
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from aibrain.model_tools.export import OnnxExport, check_onnx, export_onnx
from aibrain.model_tools.yolo import ModelError, dataset_class_names, load_yolo
from detector.model_card import (
    OBJECT_KINDS,
    ModelCard,
    list_cards,
    load_card,
    object_kinds_for,
    resolve_weights,
    save_card,
)

CARD_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


@dataclass(frozen=True)
class TrainRequest:
    """One fine-tuning run from the base card's `.pt`, looked for in `base_dirs`; `device` None lets
    Ultralytics pick."""

    data: Path
    base: ModelCard
    base_dirs: list[Path]
    name: str
    out_dir: Path
    epochs: int = 50
    imgsz: int = 640
    batch: int = 16
    device: str | None = None


@dataclass(frozen=True)
class TrainedModel:
    card_path: Path
    card: ModelCard
    unknown_kinds: list[str]  # object kinds outside the vocabulary: no shipped rule looks for them


def default_name(data: Path, base: ModelCard) -> str:
    return f"{data.stem}-{base.name}"


def train(request: TrainRequest) -> TrainedModel:
    """Train, keep the best epoch, export it to ONNX, and write the card describing both."""
    if not CARD_NAME.fullmatch(request.name):
        raise ModelError(f"--name {request.name!r}: use letters, digits, '.', '_' and '-' (it names files)")
    card_path = request.out_dir / f"{request.name}.yaml"
    if card_path.exists():  # before hours of training, not after
        raise ModelError(f"{card_path} already exists; choose another --name or remove it")
    base_weights = resolve_weights(request.base, request.base_dirs, suffixes=[".pt"])
    dataset_class_names(request.data)  # the dataset's problems in one line, before Ultralytics starts
    model = load_yolo(base_weights)
    metrics = model.train(data=str(request.data), epochs=request.epochs, imgsz=request.imgsz, batch=request.batch,
                          device=request.device, project=str(request.out_dir / "runs"), name=request.name,
                          exist_ok=True, plots=False)  # plots would fetch a font from the internet
    request.out_dir.mkdir(parents=True, exist_ok=True)
    weights = request.out_dir / f"{request.name}.pt"
    shutil.copy2(model.trainer.best, weights)
    onnx = export_onnx(weights, request.out_dir, OnnxExport(request.imgsz, dynamic_batch=True))
    class_names = {int(k): str(v) for k, v in model.names.items()}
    card = ModelCard(
        name=request.name,
        description=(f"{request.base.name} fine-tuned on {request.data.name}: "
                     f"{', '.join(class_names[i] for i in sorted(class_names))}."),
        weights=[onnx.name, weights.name],
        input_size=request.imgsz,
        licence=request.base.licence,
        provenance=provenance(request, base_weights, metrics, Path(model.trainer.save_dir)),
        object_kinds=object_kinds_for(class_names.values(), reference_cards(request.base)),
    )
    check_onnx(onnx, card)
    save_card(card, card_path, f"Written by `aibrain models train` from model card {request.base.name!r}.\n"
                               "Edit object_kinds to change which rules see which class.")
    unknown = sorted(set(card.object_kinds.values()) - set(OBJECT_KINDS))
    return TrainedModel(card_path, card, unknown)


def reference_cards(base: ModelCard) -> list[ModelCard]:
    """Where a class name's object kind is looked up: the base card first, then every shipped card
    (the custom-street-order template among them)."""
    return [base, *(load_card(name) for name in list_cards() if name != base.name)]


def provenance(request: TrainRequest, base_weights: Path, metrics: Any, run_dir: Path) -> str:
    """Where the weights came from; `metrics` are Ultralytics' final validation (None after multi-GPU runs)."""
    import ultralytics

    when = datetime.now().astimezone().isoformat(timespec="seconds")
    scores = (f" On its validation split: mAP50 {metrics.box.map50:.3f}, mAP50-95 {metrics.box.map:.3f}."
              if metrics is not None else "")
    return (f"Fine-tuned on {when} by `aibrain models train` (Ultralytics {ultralytics.__version__}) from model card "
            f"{request.base.name!r} ({base_weights.name}) on dataset {request.data}: {request.epochs} epoch(s) at "
            f"{request.imgsz} px.{scores} Run folder: {run_dir}. Base model: {request.base.provenance}")

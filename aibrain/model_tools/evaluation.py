"""A model's mAP and per-class precision/recall on a YOLO-format dataset's validation split."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from rich import box
from rich.console import Console
from rich.table import Table

from aibrain.model_tools.yolo import ModelError, dataset_class_names, load_yolo
from detector.model_card import ModelCard


@dataclass(frozen=True)
class ClassMetrics:
    name: str
    object_kind: str | None  # None: the card maps this class to no kind, so no rule sees it
    images: int
    instances: int
    precision: float
    recall: float
    map50: float
    map50_95: float


@dataclass(frozen=True)
class Evaluation:
    card: str
    weights: str
    data: str
    map50: float
    map50_95: float
    classes: list[ClassMetrics]  # classes with labels in the split, in class-id order


def evaluate(card: ModelCard, weights: Path, data: Path, imgsz: int, device: str | None = None) -> Evaluation:
    """Validate `weights` (.pt or Ultralytics-exported .onnx) on `data`'s validation split."""
    labelled = dataset_class_names(data)
    model = load_yolo(weights)
    model_names = {int(k): str(v) for k, v in model.names.items()}
    # Ultralytics compares class ids, not names: another model's ids would give meaningless numbers.
    differ = {i: name for i, name in labelled.items() if model_names.get(i) != name}
    if differ:
        raise ModelError(f"dataset {data} labels classes {differ} by ids the model {weights.name} gives to "
                         f"{ {i: model_names.get(i) for i in differ} }; evaluate a model trained on this dataset")
    with tempfile.TemporaryDirectory(prefix="aibrain-eval-") as work:
        metrics = model.val(data=str(data), imgsz=imgsz, device=device, plots=False, project=work, name="val",
                            verbose=False)
    classes = [ClassMetrics(row["Class"], card.object_kinds.get(row["Class"]), int(row["Images"]),
                            int(row["Instances"]), float(row["Box-P"]), float(row["Box-R"]), float(row["mAP50"]),
                            float(row["mAP50-95"])) for row in metrics.summary()]
    return Evaluation(card.name, str(weights), str(data), float(metrics.box.map50), float(metrics.box.map), classes)


def print_evaluation(evaluation: Evaluation, console: Console) -> None:
    console.print(f"model card {evaluation.card} ({evaluation.weights}) on {evaluation.data}", soft_wrap=True)
    console.print(f"mAP50 {evaluation.map50:.3f}   mAP50-95 {evaluation.map50_95:.3f}")
    table = Table("class", "object kind", "images", "boxes", "P", "R", "mAP50", "mAP50-95",
                  box=box.SIMPLE_HEAD, caption="P precision, R recall; per class, on the validation split")
    for column in table.columns:
        column.no_wrap = True
    for row in evaluation.classes:
        table.add_row(row.name, row.object_kind or "-", str(row.images), str(row.instances), f"{row.precision:.3f}",
                      f"{row.recall:.3f}", f"{row.map50:.3f}", f"{row.map50_95:.3f}")
    console.print(table)

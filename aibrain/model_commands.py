"""`aibrain models list|path|fetch`: which cards exist, where their weights are, getting official ones."""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from configs.load import Site
from detector.model_card import (
    CardNotFound,
    ModelCard,
    WeightsNotFound,
    list_cards,
    load_card,
    resolve_weights,
)

# Where `models fetch` puts weights, and where every site looks after its own model_dirs.
USER_MODEL_DIR = Path("~/.cache/aibrain/models").expanduser()


def model_dirs(site: Site | None) -> list[Path]:
    configured = [site.path(d) for d in site.config.model_dirs] if site else []
    return [*configured, USER_MODEL_DIR]


def run(args: argparse.Namespace) -> int:
    from aibrain.cli import load_or_exit

    site = load_or_exit(args.config) if getattr(args, "config", None) else None
    if args.models_command == "list":
        return list_models(model_dirs(site))
    if args.models_command == "path":
        return print_path(args.card, model_dirs(site))
    return fetch(args.card)


def list_models(dirs: list[Path]) -> int:
    for name in list_cards():
        card = load_card(name)
        try:
            where = str(resolve_weights(card, dirs))
        except WeightsNotFound:
            where = f"weights not found (aibrain models fetch {name})"
        kinds = sorted(set(card.object_kinds.values()))
        print(f"{name:<20} {card.licence:<10} {where}\n{'':<20} object kinds: {', '.join(kinds)}")
    return 0


def print_path(card_name: str, dirs: list[Path]) -> int:
    try:
        print(resolve_weights(load_card(card_name), dirs))
    except (CardNotFound, WeightsNotFound) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def fetch(card_name: str) -> int:
    """Download the card's official .pt through Ultralytics (needs network) and export it to ONNX."""
    try:
        card = load_card(card_name)
    except CardNotFound as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if not card.download:
        print(f"error: model card {card.name!r} names no download; copy its weights into {USER_MODEL_DIR}",
              file=sys.stderr)
        return 1
    try:
        from ultralytics import YOLO
    except ImportError:
        print("error: fetching needs the Ultralytics extra: pip install 'aibrain[ultralytics]'", file=sys.stderr)
        return 1
    USER_MODEL_DIR.mkdir(parents=True, exist_ok=True)
    exported = export_onnx(YOLO(card.download), card)
    print(f"weights for {card.name}: {exported}")
    return 0


def export_onnx(model: object, card: ModelCard) -> Path:
    pt_path = Path(model.ckpt_path)  # type: ignore[attr-defined]
    onnx_path = Path(model.export(format="onnx", imgsz=card.input_size, dynamic=True))  # type: ignore[attr-defined]
    for path in (pt_path, onnx_path):
        shutil.copy2(path, USER_MODEL_DIR / path.name)
    return USER_MODEL_DIR / onnx_path.name

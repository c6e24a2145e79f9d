"""`aibrain models list|path|fetch|export|train|eval`: model cards, their weights, and making new ones."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import yaml
from pydantic import ValidationError
from rich.console import Console

from aibrain.model_tools.evaluation import evaluate, print_evaluation
from aibrain.model_tools.export import OnnxExport, check_onnx, export_onnx
from aibrain.model_tools.training import TrainRequest, default_name, train
from aibrain.model_tools.weights_dirs import model_dirs
from aibrain.model_tools.yolo import ModelError, load_yolo
from aibrain.site_loading import load_or_exit
from configs.checks import card_problem
from detector.model_card import (
    CARDS_PACKAGE,
    USER_MODEL_DIR,
    CardNotFound,
    ModelCard,
    WeightsNotFound,
    known_object_kinds,
    list_cards,
    load_card,
    names_a_file,
    resolve_weights,
)


def search_dirs(args: argparse.Namespace) -> list[Path]:
    """`--model-dir`s first, then the `--config` site's model_dirs, then the user's model cache."""
    site = load_or_exit(args.config) if args.config else None
    return [*(d.expanduser() for d in args.model_dir), *model_dirs(site)]


def open_card(reference: str, dirs: list[Path]) -> tuple[ModelCard, list[Path]]:
    """The card named or pointed at, and where its weights are looked for: a card file's own folder
    first (where `models train` puts the weights beside the card), then `dirs`."""
    try:
        card = load_card(reference)
    except (OSError, ValueError, yaml.YAMLError) as exc:  # ValidationError is a ValueError
        raise ModelError(card_problem(reference, exc)) from None
    return card, [Path(reference).resolve().parent, *dirs] if names_a_file(reference) else dirs


def run(args: argparse.Namespace) -> int:
    try:
        return COMMANDS[args.models_command](args)
    except (CardNotFound, WeightsNotFound, ModelError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def cmd_list(args: argparse.Namespace) -> int:
    """Shipped cards, then the cards in the model directories (trained ones among them)."""
    dirs = search_dirs(args)
    for name in list_cards():
        print_card(load_card(name), f"shipped: {CARDS_PACKAGE}/{name}.yaml", dirs)
    for path in cards_in(dirs):
        try:
            card = load_card(path)
        except (OSError, ValidationError, yaml.YAMLError) as exc:
            print(f"skipped {path}: {card_problem(str(path), exc)}", file=sys.stderr)
            continue
        print_card(card, str(path), [path.parent, *dirs])
    return 0


def cards_in(dirs: list[Path]) -> list[Path]:
    """The `*.yaml` files in `dirs`, each once."""
    found: dict[Path, Path] = {}
    for directory in dirs:
        for path in sorted(directory.glob("*.yaml")) if directory.is_dir() else []:
            found.setdefault(path.resolve(), path)
    return list(found.values())


def print_card(card: ModelCard, where: str, dirs: list[Path]) -> None:
    try:
        weights = str(resolve_weights(card, dirs))
    except WeightsNotFound as exc:
        weights = f"not found: {exc}"
    print(f"{card.name} ({where})\n  licence: {' '.join(card.licence.split())}\n  weights: {weights}\n"
          f"  object kinds: {', '.join(known_object_kinds(card))}")


def cmd_path(args: argparse.Namespace) -> int:
    card, dirs = open_card(args.card, search_dirs(args))
    print(resolve_weights(card, dirs))
    return 0


def cmd_fetch(args: argparse.Namespace) -> int:
    """Download the card's official .pt through Ultralytics (needs network) and export it to ONNX."""
    card, _ = open_card(args.card, [])
    if not card.download:
        raise ModelError(f"model card {card.name!r} names no download; copy its weights into {USER_MODEL_DIR}")
    USER_MODEL_DIR.mkdir(parents=True, exist_ok=True)
    downloaded = Path(load_yolo(card.download).ckpt_path)
    weights = USER_MODEL_DIR / downloaded.name
    shutil.copy2(downloaded, weights)
    exported = export_onnx(weights, USER_MODEL_DIR, OnnxExport(card.input_size, dynamic_batch=True))
    print(f"weights for {card.name}: {check_onnx(exported, card)}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    card, dirs = open_card(args.card, search_dirs(args))
    weights = resolve_weights(card, dirs, suffixes=[".pt"])
    options = OnnxExport(args.imgsz or card.input_size, dynamic_batch=args.dynamic_batch, half=args.half)
    exported = export_onnx(weights, args.out.expanduser(), options)
    print(f"exported {check_onnx(exported, card)}")
    card_reference = Path(args.card).resolve() if names_a_file(args.card) else args.card
    print(f"serve it with `model: {exported}` and `model_card: {card_reference}` in the site file")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    base, dirs = open_card(args.base, search_dirs(args))
    request = TrainRequest(data=args.data.expanduser().resolve(), base=base, base_dirs=dirs,
                           name=args.name or default_name(args.data, base), out_dir=args.out.expanduser().resolve(),
                           epochs=args.epochs, imgsz=args.imgsz or base.input_size, batch=args.batch,
                           device=args.device)
    trained = train(request)
    print(f"model card {trained.card_path}: weights {', '.join(trained.card.weights)}")
    for kind in trained.unknown_kinds:
        print(f"note: object kind {kind!r} is not one the shipped rules look for; map its class to one in "
              f"{trained.card_path}, or write rules for it")
    print(f"serve it with `model: {trained.card_path}` and `model_dirs: [{trained.card_path.parent}]`")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    card, dirs = open_card(args.card, search_dirs(args))
    weights = resolve_weights(card, dirs)
    evaluation = evaluate(card, weights, args.data.expanduser().resolve(), args.imgsz or card.input_size,
                          args.device)
    print_evaluation(evaluation, Console(width=max(Console().width, 100)))  # a log file gets whole columns
    if args.json:
        args.json.write_text(json.dumps(asdict(evaluation), indent=2, ensure_ascii=False), encoding="utf-8")
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "list": cmd_list, "path": cmd_path, "fetch": cmd_fetch, "export": cmd_export, "train": cmd_train,
    "eval": cmd_eval,
}

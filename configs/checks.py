"""Checks that span fields or files, run on the raw YAML so they still run when some fields are bad.

Each check is a named function `(raw, context) -> list[ConfigProblem]`; `CHECKS` lists them.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from configs.problems import ConfigProblem
from detector.model_card import CardNotFound, known_object_kinds, load_card
from detector.rules import KIND_DEFAULTS
from detector.violation import ViolationKind
from routing.grids import GridFileError, GridMap, load_grids


@dataclass
class CheckContext:
    file: Path
    base_dir: Path
    grids: GridMap | None = None  # set by `check_grid_file` when the file loads

    def problem(self, field: str, message: str) -> ConfigProblem:
        return ConfigProblem(self.file, field, message)


def entries(raw: dict[str, Any], key: str, label_key: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(field path with its id, entry) for each dict in the list `raw[key]`."""
    items = raw.get(key)
    if not isinstance(items, list):
        return
    for index, item in enumerate(items):
        if isinstance(item, dict):
            label = item.get(label_key)
            yield (f"{key}[{index}] ({label})" if label is not None else f"{key}[{index}]"), item


def zones_of(raw: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    for camera_path, camera in entries(raw, "cameras", "id"):
        for zone_path, zone in entries(camera, "zones", "name"):
            yield f"{camera_path}.{zone_path}", camera, zone


def strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def resolve(base_dir: Path, value: str) -> Path:
    """`value` as a path, relative ones taken from `base_dir`; `..` folded so logs read plainly."""
    path = Path(value).expanduser()
    return Path(os.path.normpath(path if path.is_absolute() else base_dir / path))


def check_grid_file(raw: dict[str, Any], ctx: CheckContext) -> list[ConfigProblem]:
    value = raw.get("grids")
    if not isinstance(value, str):
        return []  # missing or mistyped: the schema reports it
    try:
        ctx.grids = load_grids(resolve(ctx.base_dir, value))
    except GridFileError as exc:
        return [ctx.problem("grids", str(problem)) for problem in exc.problems]
    return []


def check_duplicate_ids(raw: dict[str, Any], ctx: CheckContext) -> list[ConfigProblem]:
    problems = []
    for key, id_key in (("cameras", "id"), ("workers", "id")):
        counts = Counter(item.get(id_key) for _, item in entries(raw, key, id_key))
        problems += [ctx.problem(path, f"duplicate {id_key} {item[id_key]!r}")
                     for path, item in entries(raw, key, id_key)
                     if item.get(id_key) is not None and counts[item[id_key]] > 1]
    for camera_path, camera in entries(raw, "cameras", "id"):
        counts = Counter(zone.get("name") for _, zone in entries(camera, "zones", "name"))
        problems += [ctx.problem(f"{camera_path}.{zone_path}", f"duplicate zone name {zone['name']!r}")
                     for zone_path, zone in entries(camera, "zones", "name")
                     if zone.get("name") is not None and counts[zone["name"]] > 1]
    return problems


def check_zone_grids(raw: dict[str, Any], ctx: CheckContext) -> list[ConfigProblem]:
    """Every zone maps to a grid that exists: its own `grid`, else the camera's location."""
    if ctx.grids is None:
        return []
    problems = []
    for path, camera, zone in zones_of(raw):
        grid_id = zone.get("grid")
        if isinstance(grid_id, str):
            if grid_id not in ctx.grids:
                problems.append(ctx.problem(f"{path}.grid", f"grid {grid_id!r} is not in the grids file"))
            continue
        location = camera.get("location")
        if not (isinstance(location, list) and len(location) == 2):
            problems.append(ctx.problem(path, "zone has no grid and its camera has no location"))
        elif ctx.grids.grid_at(*location) is None:
            problems.append(ctx.problem(path, f"camera location {location} lies in no grid of the grids file"))
    return problems


def zone_grid_ids(raw: dict[str, Any], ctx: CheckContext) -> Iterator[tuple[str, str]]:
    for path, camera, zone in zones_of(raw):
        grid_id = zone.get("grid")
        location = camera.get("location")
        if not isinstance(grid_id, str) and ctx.grids is not None and isinstance(location, list):
            grid = ctx.grids.grid_at(*location) if len(location) == 2 else None
            grid_id = grid.id if grid else None
        if isinstance(grid_id, str):
            yield path, grid_id


def check_grids_covered(raw: dict[str, Any], ctx: CheckContext) -> list[ConfigProblem]:
    """A grid a zone reports to must have at least one worker; a worker's grids must exist."""
    covered = {g for _, worker in entries(raw, "workers", "id") for g in strings(worker.get("grids"))}
    problems = [ctx.problem(path, f"grid {grid_id!r} is covered by no worker")
                for path, grid_id in zone_grid_ids(raw, ctx) if grid_id not in covered]
    if ctx.grids is not None:
        for path, worker in entries(raw, "workers", "id"):
            problems += [ctx.problem(f"{path}.grids", f"grid {g!r} is not in the grids file")
                         for g in strings(worker.get("grids")) if g not in ctx.grids]
    return problems


def check_rules(raw: dict[str, Any], ctx: CheckContext) -> list[ConfigProblem]:
    """Each rule's kind has a rule type, and its object kinds are ones the model can report."""
    card_kinds, problems = model_object_kinds(raw, ctx)
    for path, rule in entries(raw, "rules", "kind"):
        kind = rule.get("kind")
        if not isinstance(kind, str) or kind not in ViolationKind.__members__.values():
            continue  # the schema names the valid codes
        defaults = KIND_DEFAULTS.get(ViolationKind(kind))
        if defaults is None:
            problems.append(ctx.problem(f"{path}.kind", f"no rule type implements kind {kind!r} yet"))
        objects = rule.get("objects")
        wanted = strings(objects) if objects is not None else sorted(defaults.object_kinds if defaults else ())
        if card_kinds is not None:
            problems += [ctx.problem(f"{path}.objects", f"unknown object kind {name!r} (the model card knows "
                                     f"{sorted(card_kinds)})") for name in wanted if name not in card_kinds]
    return problems


def model_object_kinds(raw: dict[str, Any], ctx: CheckContext) -> tuple[set[str] | None, list[ConfigProblem]]:
    """The object kinds of the configured model card, or None and the problem that prevents knowing."""
    model = raw.get("model", "yolov8n")
    card_name = raw.get("model_card", "yolov8n")
    if not isinstance(model, str) or not isinstance(card_name, str):
        return None, []
    is_weights = model.endswith((".onnx", ".pt"))
    if model.endswith(".yaml"):
        if not resolve(ctx.base_dir, model).is_file():
            return None, []  # check_files reports it
        card_name = str(resolve(ctx.base_dir, model))
    elif not is_weights:
        card_name = model
    try:
        return set(known_object_kinds(load_card(card_name))), []
    except (CardNotFound, ValidationError, yaml.YAMLError) as exc:
        return None, [ctx.problem("model_card" if is_weights else "model", str(exc))]


def check_files(raw: dict[str, Any], ctx: CheckContext) -> list[ConfigProblem]:
    """Camera files and a model path must be readable (RTSP URLs are checked when connecting)."""
    problems = []
    for path, camera in entries(raw, "cameras", "id"):
        url = camera.get("url")
        if isinstance(url, str) and "://" not in url and not readable(resolve(ctx.base_dir, url)):
            problems.append(ctx.problem(f"{path}.url", f"video file {resolve(ctx.base_dir, url)} is not readable"))
    model = raw.get("model")
    if isinstance(model, str) and model.endswith((".onnx", ".pt", ".yaml")) and not readable(
            resolve(ctx.base_dir, model)):
        problems.append(ctx.problem("model", f"model file {resolve(ctx.base_dir, model)} is not readable"))
    return problems


def readable(path: Path) -> bool:
    try:
        with path.open("rb"):
            return True
    except OSError:
        return False


CHECKS: list[Callable[[dict[str, Any], CheckContext], list[ConfigProblem]]] = [
    check_grid_file,  # first: the grid checks below use what it loads
    check_duplicate_ids,
    check_zone_grids,
    check_grids_covered,
    check_rules,
    check_files,
]


def run_checks(raw: dict[str, Any], ctx: CheckContext) -> list[ConfigProblem]:
    return [problem for check in CHECKS for problem in check(raw, ctx)]

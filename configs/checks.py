"""Checks that span fields or files, run on the raw YAML so they still run when some fields are bad.

First the loading steps (`check_context`) make, once, what several checks read: the grids file and
the taxonomy with the site's kinds. Then each check in `CHECKS`, a function
`(raw, context) -> list[ConfigProblem]`, reads that frozen context and returns its problems: no check
hands a value to another, so they run in any order.
"""

from __future__ import annotations

import contextlib
import os
import re
import ssl
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from pydantic import TypeAdapter, ValidationError

from configs.file_size import MAX_GRIDS_BYTES, size_problem
from configs.problems import ENTRY_LABELS, ConfigError, ConfigProblem, entry_path, shown
from configs.schema import LonLat, RuleConfig, WebConfig
from configs.taxonomy import (
    DEFAULT_TAXONOMY,
    KindOverride,
    KindSpec,
    ObjectFilterSpec,
    ResolvedRule,
    RuleChanges,
    TaxonomyFile,
    given_parameters,
    merge_kind,
    resolve_rule,
)
from configs.writable import folder_write_problem
from configs.yaml_file import read_yaml, schema_problems
from detector.model_card import USER_MODEL_DIR, CardNotFound, known_object_kinds, load_card, names_a_file
from routing.assign.grids import GridFileError, GridMap, load_grids
from routing.broker.connection import TlsFiles, tls_context


@dataclass(frozen=True)
class SiteTaxonomy:
    """The taxonomy with the site's own kinds and changes, and its object filters with the site's."""

    kinds: dict[str, KindSpec]
    object_filters: dict[str, ObjectFilterSpec]


@dataclass(frozen=True)
class CheckContext:
    """What the checks read besides the raw YAML, made by the loading steps before any check runs."""

    file: Path
    grids: GridMap | None  # None: the grids file did not load (`load_grid_file` said why)
    taxonomy: SiteTaxonomy | None  # None: the taxonomy did not load (`load_taxonomy` said why)

    @property
    def base_dir(self) -> Path:
        return self.file.parent

    def problem(self, field: str, message: str) -> ConfigProblem:
        return ConfigProblem(self.file, field, message)


def entries(raw: dict[str, Any], key: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(field path with its label, entry) for each dict in the list `raw[key]`."""
    items = raw.get(key)
    if not isinstance(items, list):
        return
    for index, item in enumerate(items):
        if isinstance(item, dict):
            yield entry_path(key, key, index, item), item


def zones_of(raw: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    for camera_path, camera in entries(raw, "cameras"):
        for zone_path, zone in entries(camera, "zones"):
            yield f"{camera_path}.{zone_path}", camera, zone


_LON_LAT: TypeAdapter[tuple[float, float]] = TypeAdapter(LonLat)


def location_of(camera: dict[str, Any]) -> tuple[float, float] | None:
    """The camera's location; None when it has none or an invalid one (the schema reports that)."""
    try:
        return _LON_LAT.validate_python(camera.get("location"))
    except ValidationError:
        return None


def strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def resolve(base_dir: Path, value: str) -> Path:
    """`value` as a path, relative ones taken from `base_dir`; `..` folded so logs read plainly."""
    path = Path(value)
    with contextlib.suppress(RuntimeError):  # "~nobody/..." names no user: the path stays as written
        path = path.expanduser()
    return Path(os.path.normpath(path if path.is_absolute() else base_dir / path))


def load_grid_file(raw: dict[str, Any], file: Path) -> tuple[GridMap | None, list[ConfigProblem]]:
    """Loading step: the site's grids file, or None and the problems that keep it from loading."""
    value = raw.get("grids")
    if not isinstance(value, str):
        return None, []  # missing or mistyped: the schema reports it
    path = resolve(file.parent, value)
    if (too_large := size_problem(path, MAX_GRIDS_BYTES)) is not None:
        return None, [ConfigProblem(file, "grids", too_large)]
    try:
        return load_grids(path), []
    except GridFileError as exc:
        return None, [ConfigProblem(file, "grids", str(problem)) for problem in exc.problems]


def check_duplicate_ids(raw: dict[str, Any], ctx: CheckContext) -> list[ConfigProblem]:
    """Camera and worker ids are unique in the site, zone names in their camera."""
    lists = [("", raw, "cameras"), ("", raw, "workers")]
    lists += [(f"{camera_path}.", camera, "zones") for camera_path, camera in entries(raw, "cameras")]
    problems = []
    for prefix, owner, key in lists:
        label_key = ENTRY_LABELS[key]
        labelled = [(path, item.get(label_key)) for path, item in entries(owner, key)]
        counts = Counter(label for _, label in labelled if isinstance(label, str))  # others: the schema's
        problems += [ctx.problem(prefix + path, f"duplicate {label_key} {label!r}")
                     for path, label in labelled if isinstance(label, str) and counts[label] > 1]
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
        location = location_of(camera)
        if camera.get("location") is None:
            problems.append(ctx.problem(path, "zone has no grid and its camera has no location"))
        elif location is not None and ctx.grids.grid_at(*location) is None:
            problems.append(ctx.problem(path, f"camera location {list(location)} lies in no grid of the grids file"))
    return problems


def zone_grid_ids(raw: dict[str, Any], ctx: CheckContext) -> Iterator[tuple[str, str]]:
    for path, camera, zone in zones_of(raw):
        grid_id = zone.get("grid")
        location = location_of(camera)
        if not isinstance(grid_id, str) and ctx.grids is not None and location is not None:
            grid = ctx.grids.grid_at(*location)
            grid_id = grid.id if grid else None
        if isinstance(grid_id, str):
            yield path, grid_id


def check_grids_covered(raw: dict[str, Any], ctx: CheckContext) -> list[ConfigProblem]:
    """A grid a zone reports to must have at least one worker; a worker's grids must exist."""
    covered = {g for _, worker in entries(raw, "workers") for g in strings(worker.get("grids"))}
    problems = [ctx.problem(path, f"grid {grid_id!r} is covered by no worker")
                for path, grid_id in zone_grid_ids(raw, ctx) if grid_id not in covered]
    if ctx.grids is not None:
        for path, worker in entries(raw, "workers"):
            problems += [ctx.problem(f"{path}.grids", f"grid {g!r} is not in the grids file")
                         for g in strings(worker.get("grids")) if g not in ctx.grids]
    return problems


def check_escalation_grids(raw: dict[str, Any], ctx: CheckContext) -> list[ConfigProblem]:
    """Escalation chains name grids of the grids file."""
    escalation = raw.get("escalation")
    grids = escalation.get("grids") if isinstance(escalation, dict) else None
    if ctx.grids is None or not isinstance(grids, dict):
        return []
    return [ctx.problem(f"escalation.grids.{grid_id}", f"grid {grid_id!r} is not in the grids file")
            for grid_id in grids if grid_id not in ctx.grids]


def load_taxonomy(raw: dict[str, Any], site_file: Path) -> tuple[SiteTaxonomy | None, list[ConfigProblem]]:
    """Loading step: the taxonomy (the shipped file, or the site's `taxonomy`) with the site's `kinds`,
    which make whole kinds of it (a new kind needs every field, a changed one keeps what it does not
    set) and its `object_filters`; None when the taxonomy does not load."""
    value = raw.get("taxonomy")
    file = resolve(site_file.parent, value) if isinstance(value, str) else DEFAULT_TAXONOMY
    try:
        document = read_yaml(file)
        taxonomy = TaxonomyFile.model_validate(document)
    except ConfigError as exc:
        return None, [ConfigProblem(site_file, "taxonomy", f"{problem.field}: {problem.message}".removeprefix(": "))
                      for problem in exc.problems] if value is not None else exc.problems
    except ValidationError as exc:
        return None, schema_problems(file, document, exc)
    kinds, problems = dict(taxonomy.kinds), []
    overrides = raw.get("kinds")
    for code, override in (overrides.items() if isinstance(overrides, dict) else ()):
        try:
            change = KindOverride.model_validate(override)
        except ValidationError:
            continue  # the schema reports it
        merged = merge_kind(kinds.get(str(code)), change)
        try:
            kinds[str(code)] = KindSpec.model_validate(merged)
        except ValidationError as exc:
            what = "a new kind" if str(code) not in taxonomy.kinds else "the kind"
            problems += [ConfigProblem(site_file, ".".join(["kinds", shown(str(code)), *map(str, e["loc"])]),
                                       f"{what}: {e['msg']}") for e in exc.errors()]
    filters = raw.get("object_filters")
    object_filters = dict(taxonomy.object_filters)
    if isinstance(filters, dict):
        with contextlib.suppress(ValidationError):  # the schema reports a bad one
            object_filters.update(TypeAdapter(dict[str, ObjectFilterSpec]).validate_python(filters))
    return SiteTaxonomy(kinds, object_filters), problems


def check_context(raw: dict[str, Any], file: Path) -> tuple[CheckContext, list[ConfigProblem]]:
    """The loading steps: what the checks read, made once, and the problems the steps found."""
    grids, grid_problems = load_grid_file(raw, file)
    taxonomy, taxonomy_problems = load_taxonomy(raw, file)
    return CheckContext(file, grids, taxonomy), grid_problems + taxonomy_problems


def minutes(value: object) -> float | None:
    """A time limit as a number to compare, or None where the schema already names it as bad (not a
    number, or an integer too large for a float, which `:g` could not print).

    >>> minutes(30), minutes("30"), minutes(10**400)
    (30.0, None, None)
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return float(value)
    except OverflowError:
        return None


def check_rules(raw: dict[str, Any], ctx: CheckContext) -> list[ConfigProblem]:
    """Each rule names a kind of the taxonomy, its parameters fit the kind's rule type, its time
    limits are in order, and its object kinds are ones the model can report."""
    card_kinds, problems = model_object_kinds(raw, ctx)
    if ctx.taxonomy is None:
        return problems
    kinds = ctx.taxonomy.kinds
    for path, rule in entries(raw, "rules"):
        code = rule.get("kind")
        if not isinstance(code, str):
            continue  # the schema names the problem
        kind = kinds.get(code)
        if kind is None:
            problems.append(ctx.problem(f"{path}.kind", f"unknown kind {code!r}; the taxonomy has "
                                        f"{', '.join(sorted(kinds))} (add one under `kinds`)"))
            continue
        try:
            parameters = given_parameters(RuleConfig.split(rule)[1])
        except ValidationError:
            continue  # the schema names the problem
        resolved, rule_problems = resolve_rule(kind, RuleChanges(parameters))
        problems += [ctx.problem(f"{path}.{name}", message) for name, message in rule_problems]
        accept, resolve_ = (rule.get(key, getattr(kind, key)) for key in ("accept_within_min", "resolve_within_min"))
        if minutes(accept) is not None and minutes(resolve_) is not None and resolve_ < accept:
            problems.append(ctx.problem(f"{path}.resolve_within_min", f"{resolve_:g} is below accept_within_min "
                                        f"({accept:g}): a problem is accepted before it is resolved"))
        if resolved is not None and card_kinds is not None:
            problems += unknown_objects(path, rule, resolved, card_kinds, ctx)
    return problems


def unknown_objects(path: str, rule: dict[str, Any], resolved: ResolvedRule, card_kinds: set[str],
                    ctx: CheckContext) -> list[ConfigProblem]:
    """Object kinds the model cannot report. A kind's defaults name what several models see (a
    custom model's `stall`, COCO's `umbrella`): each list needs one the card knows. What the site
    itself writes must all be known: a typo would silently never match."""
    where, lists = resolved.parameters.object_lists()
    known = f"(the model card knows {sorted(card_kinds)})"
    if where in rule:
        return [ctx.problem(f"{path}.{where}", f"unknown object kind {name!r} {known}")
                for names in lists for name in names if name not in card_kinds]
    return [ctx.problem(f"{path}.kind", f"the model sees none of the kind's object kinds {names} {known}; "
                        f"give `{where}` for this model") for names in lists if not set(names) & card_kinds]


def check_zone_schedules(raw: dict[str, Any], ctx: CheckContext) -> list[ConfigProblem]:
    """A zone allows kinds of the taxonomy."""
    if ctx.taxonomy is None:
        return []
    problems = []
    for path, _, zone in zones_of(raw):
        allow = zone.get("allow")
        if isinstance(allow, dict):
            problems += [ctx.problem(f"{path}.allow.{shown(str(code))}", f"unknown kind {code!r}")
                         for code in allow if code not in ctx.taxonomy.kinds]
    return problems


def site_model_dirs(raw: dict[str, Any], ctx: CheckContext) -> list[Path]:
    """Where the site's cards and weights are looked for: its `model_dirs`, then the user's model cache."""
    return [*(resolve(ctx.base_dir, d) for d in strings(raw.get("model_dirs"))), USER_MODEL_DIR]


def card_reference(model: str, model_card: str, base_dir: Path) -> str:
    """What `load_card` takes for a site's `model` and `model_card`: a shipped card's name, or a card
    file's path taken from the site file's folder. `model` names the card itself unless it is a
    weights file, whose classes `model_card` then describes."""
    card = model_card if model.endswith((".onnx", ".pt")) else model
    return str(resolve(base_dir, card)) if names_a_file(card) else card


def model_object_kinds(raw: dict[str, Any], ctx: CheckContext) -> tuple[set[str] | None, list[ConfigProblem]]:
    """The object kinds of the configured model card, or None and the problem that prevents knowing."""
    model = raw.get("model", "yolov8n")
    card_name = raw.get("model_card", "yolov8n")
    if not isinstance(model, str) or not isinstance(card_name, str):
        return None, []
    is_weights = model.endswith((".onnx", ".pt"))
    if model.endswith(".yaml") and not resolve(ctx.base_dir, model).is_file():
        return None, []  # check_files reports it
    card_name = card_reference(model, card_name, ctx.base_dir)
    try:
        return set(known_object_kinds(load_card(card_name, site_model_dirs(raw, ctx)))), []
    except (CardNotFound, OSError, ValueError, RecursionError, yaml.YAMLError) as exc:
        return None, [ctx.problem("model_card" if is_weights else "model", card_problem(card_name, exc))]


def card_problem(card_name: str, exc: Exception) -> str:
    """One line on why a model card cannot be used."""
    if isinstance(exc, CardNotFound):
        return str(exc)
    if isinstance(exc, ValidationError):  # its str() spans lines and quotes the input
        return f"model card {card_name} is not a valid card: " + "; ".join(
            f"{'.'.join(map(str, e['loc'])) or '(card)'}: {e['msg']}" for e in exc.errors())
    if isinstance(exc, RecursionError):
        return f"model card {card_name} is nested too deeply"
    return f"model card {card_name} cannot be read: {str(exc).splitlines()[0]}"


def check_files(raw: dict[str, Any], ctx: CheckContext) -> list[ConfigProblem]:
    """Camera files and a model path must be readable (RTSP URLs are checked when connecting)."""
    problems = []
    for path, camera in entries(raw, "cameras"):
        for key in ("url", "detect_url"):
            url = camera.get(key)
            if isinstance(url, str) and "://" not in url and not readable(resolve(ctx.base_dir, url)):
                hint = "; a stream URL starts with rtsp://" if _LOOKS_LIKE_URL.match(url) else ""
                problems.append(ctx.problem(f"{path}.{key}",
                                            f"video file {resolve(ctx.base_dir, url)} is not readable{hint}"))
    model = raw.get("model")
    if isinstance(model, str) and model.endswith((".onnx", ".pt", ".yaml")) and not readable(
            resolve(ctx.base_dir, model)):
        problems.append(ctx.problem("model", f"model file {resolve(ctx.base_dir, model)} is not readable"))
    return problems


# A value with a scheme or user-info in front ("rtsp:/host", "admin:pw@host") meant as a stream URL.
_LOOKS_LIKE_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]+:|^[^/]*@")


def check_broker_tls(raw: dict[str, Any], ctx: CheckContext) -> list[ConfigProblem]:
    """`broker_tls` goes with an amqps:// broker, and its CA, certificate and key load."""
    tls = raw.get("broker_tls")
    if not isinstance(tls, dict):
        return []  # absent, or mistyped: the schema reports it
    broker = raw.get("broker")
    if not isinstance(broker, str) or urlsplit(broker).scheme.lower() != "amqps":
        return [ctx.problem("broker_tls", "set, but the site's broker URL does not start with amqps://")]
    if tls.get("key_file") is not None and tls.get("cert_file") is None:
        return [ctx.problem("broker_tls.key_file", "set without cert_file")]
    files = {key: resolve(ctx.base_dir, value) for key in ("ca_file", "cert_file", "key_file")
             if isinstance(value := tls.get(key), str)}
    unreadable = [ctx.problem(f"broker_tls.{key}", f"file {path} is not readable")
                  for key, path in files.items() if not readable(path)]
    if unreadable:
        return unreadable
    ca_file, cert_file = files.get("ca_file"), files.get("cert_file")
    attempts = [("ca_file", TlsFiles(ca_file=ca_file))]
    if cert_file is not None:
        attempts.append(("cert_file", TlsFiles(ca_file, cert_file, files.get("key_file"))))
    for key, tls_files in attempts:
        try:
            tls_context(tls_files)
        except ssl.SSLError as exc:
            return [ctx.problem(f"broker_tls.{key}", f"not a usable PEM file: {exc.reason or exc}")]
    return []


def check_web_port(raw: dict[str, Any], ctx: CheckContext) -> list[ConfigProblem]:
    """The workbench and the metrics endpoint, both served by `aibrain run`, listen on ports of their own."""
    web, metrics_port = raw.get("web"), raw.get("metrics_port")
    if not isinstance(web, dict) or not an_integer(metrics_port):
        return []  # no workbench or no metrics; a mistyped one: the schema reports it
    port = web.get("port", WebConfig.model_fields["port"].default)
    if an_integer(port) and port == metrics_port:
        return [ctx.problem("web.port", f"{port} is the metrics_port too; give each its own")]
    return []


def an_integer(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def readable(path: Path) -> bool:
    try:
        with path.open("rb"):
            return True
    except (OSError, ValueError):  # ValueError: a NUL byte in the name
        return False


CHECKS: list[Callable[[dict[str, Any], CheckContext], list[ConfigProblem]]] = [
    check_duplicate_ids,
    check_zone_grids,
    check_grids_covered,
    check_escalation_grids,
    check_rules,
    check_zone_schedules,
    check_files,
    check_broker_tls,
    check_web_port,
]


def run_checks(raw: dict[str, Any], ctx: CheckContext) -> list[ConfigProblem]:
    return [problem for check in CHECKS for problem in check(raw, ctx)]


def check_evidence_dir(site_file: Path, evidence_dir: Path) -> list[ConfigProblem]:
    """`evidence_dir` can be written. Not in CHECKS: every load would probe it, and a machine that
    only reads the site (a worker's inbox) need not write evidence; `check-config` runs it."""
    problem = folder_write_problem(evidence_dir)
    return [ConfigProblem(site_file, "evidence_dir", f"evidence {problem}")] if problem else []

"""Reading a YAML config file (a site, a taxonomy) into data, and pydantic errors into problems:
every fault becomes a ConfigProblem naming the file and the field, never echoing a value."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from configs.expand import expand_variables
from configs.file_size import MAX_YAML_BYTES, FileTooLarge, read_capped
from configs.problems import ConfigError, ConfigProblem, entry_path, shown


def field_path(loc: tuple[int | str, ...], raw: Any) -> str:
    """('cameras', 0, 'zones', 1, 'polygon') -> 'cameras[0] (cam-01).zones[1] (gate).polygon'."""
    parts: list[str] = []
    node = raw
    for position, key in enumerate(loc):
        if key == "[key]" and position == len(loc) - 1:
            break  # pydantic's marker for "the key itself is wrong": the path already names it
        if isinstance(key, int) and isinstance(node, list) and parts:  # an index; an int key of a mapping is not
            node = node[key] if 0 <= key < len(node) else None
            parts[-1] = entry_path(parts[-1], str(loc[position - 1]), key, node)
        else:
            node = node.get(key) if isinstance(node, dict) else None
            parts.append(shown(str(key)))
    return ".".join(parts)


def schema_problems(file: Path, raw: dict[str, Any], error: ValidationError) -> list[ConfigProblem]:
    # The input value is never echoed: it may be a URL holding credentials. Our validators' own
    # words stand without pydantic's "Value error, " in front.
    return [ConfigProblem(file, field_path(tuple(e["loc"]), raw),
                          str(e["ctx"]["error"]) if e["type"] == "value_error" else e["msg"]) for e in error.errors()]


def yaml_problem(file: Path, exc: yaml.YAMLError) -> ConfigProblem:
    """A YAML syntax error on one line, placed by line and column. PyYAML's own text is not used:
    it quotes the offending line, which may hold a URL with its password."""
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        what = "; ".join(part for part in (exc.context, exc.problem) if part)
        return ConfigProblem(file, f"(line {mark.line + 1}, column {mark.column + 1})", f"not valid YAML: {what}")
    return ConfigProblem(file, "(file)", f"not valid YAML: {str(exc).splitlines()[0]}")


# libyaml's parser where PyYAML was built with it: the same safe constructors, ten times faster.
SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MAX_VALUES = 2_000_000  # a street of thousands of cameras holds far fewer; more is an alias bomb


class _Cycle(Exception):
    pass


def alias_problem(document: Any) -> str | None:
    """Why YAML aliases make the parsed document unusable as a tree, or None.

    An alias shares its anchor's node, so `&a [*a]` is a list inside itself, and ten levels of
    ten aliases hold ten billion values that every later step would walk. Sizes are counted once
    per shared node, so this costs one pass over the nodes as parsed.
    """
    sizes: dict[int, int] = {}  # id of a list or mapping -> values within, aliases expanded
    walking: set[int] = set()

    def size(node: Any) -> int:
        if not isinstance(node, list | dict):
            return 1
        if id(node) in sizes:
            return sizes[id(node)]
        if id(node) in walking:
            raise _Cycle
        walking.add(id(node))
        total = 1 + sum(size(child) for child in (node.values() if isinstance(node, dict) else node))
        walking.discard(id(node))
        sizes[id(node)] = total
        return total

    try:
        values = size(document)
    except _Cycle:
        return "a value contains itself (a YAML alias inside its own anchor)"
    if values > MAX_VALUES:
        return f"YAML aliases expand the file to {values:,} values, more than {MAX_VALUES:,}"
    return None


def read_yaml(file: Path) -> dict[str, Any]:
    try:
        text = read_capped(file, MAX_YAML_BYTES).decode("utf-8")
    except FileTooLarge as exc:
        raise ConfigError([ConfigProblem(file, "(file)", str(exc))]) from None
    except (OSError, ValueError) as exc:  # ValueError: not UTF-8
        raise ConfigError([ConfigProblem(file, "(file)", f"cannot read the file: {exc}")]) from exc
    try:
        raw = yaml.load(text, Loader=SAFE_LOADER)
    except yaml.YAMLError as exc:
        raise ConfigError([yaml_problem(file, exc)]) from exc
    except RecursionError:
        raise ConfigError([ConfigProblem(file, "(file)", "not valid YAML: nested too deeply")]) from None
    except ValueError as exc:  # a value PyYAML cannot build: the date 2024-13-45, an integer of 5000 digits
        raise ConfigError([ConfigProblem(file, "(file)", f"not valid YAML: {exc}")]) from exc
    if (alias_trouble := alias_problem(raw)) is not None:
        raise ConfigError([ConfigProblem(file, "(file)", alias_trouble)])
    if not isinstance(raw, dict):
        what = "is empty" if raw is None else f"holds a {type(raw).__name__}"
        raise ConfigError([ConfigProblem(file, "(file)", f"the file {what}; it must hold a mapping of settings")])
    expanded: dict[str, Any]  # a mapping stays a mapping when its strings are expanded
    expanded, unset = expand_variables(raw)
    if unset:
        raise ConfigError([ConfigProblem(file, field_path(u.loc, raw), f"environment variable {u.name} is not set "
                                         "(give it a value or a default: ${NAME:-default})") for u in unset])
    return expanded

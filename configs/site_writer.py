"""Write one camera's zones back into a site file's text, changing nothing else: every other line stays
byte for byte as written (comments, key order, flow style, `${VAR}` strings), and the zones block itself
is re-emitted by ruamel.yaml from the parsed nodes, so the zones kept keep their comments and style.

>>> text = '''cameras:  # the street's cameras
...   - id: cam-01
...     name: 东门
...     zones:
...       - {name: gate, tags: [no_parking_motor], polygon: [[0, 0], [1, 0], [1, 1]]}
... rules: []
... '''
>>> print(replace_zones(text, "cam-01", [ZoneEdit(name="gate", grid="G-01", tags=("no_parking_motor",),
...                                               polygon=((0, 0), (0.5, 0), (0.5, 0.5)), source=0)]), end="")
cameras:  # the street's cameras
  - id: cam-01
    name: 东门
    zones:
      - {name: gate, grid: G-01, tags: [no_parking_motor], polygon: [[0.0, 0.0], [0.5, 0.0], [0.5, 0.5]]}
rules: []
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

DECIMALS = 4  # a ten-thousandth of the picture: below a pixel of any camera in use
ANCHOR = re.compile(r"&([^\s,\[\]{}]+)")
NO_WRAP = 1_000_000  # ruamel wraps long flow lines at odd places; a long line reads better
HAND_EDIT = "does another setting use their values through a YAML anchor (&name)? Edit the file by hand"


class ZoneEdit(BaseModel):
    """One zone as an editor sends it. Values are taken as they come: the site's own validation
    (check-config) judges them after writing, so its words are the ones a person sees."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    grid: str | None = None
    tags: tuple[str, ...] = ()
    polygon: tuple[tuple[float, ...], ...]
    source: int | None = Field(None, ge=0, description="the zone's index in the file it was edited from "
                               "(its comments, style and `allow` are kept); None for a new zone")


class SiteEditError(ValueError):
    """The file cannot be edited as asked (no such camera, a layout the writer does not handle)."""


def replace_zones(text: str, camera_id: str, zones: Sequence[ZoneEdit]) -> str:
    """`text` with camera `camera_id`'s zones replaced by `zones`; every line outside that camera's zones
    block stays as it was. Raises SiteEditError when that cannot be done faithfully."""
    document = _round_trip(text)
    camera_index, camera = _camera(document, camera_id)
    old = camera.get("zones")
    if not isinstance(old, CommentedSeq) or not old:
        raise SiteEditError(f"camera {camera_id!r} has no list of zones to edit")
    if camera.fa.flow_style():
        raise SiteEditError(f"camera {camera_id!r} is written on one line ({{...}}); write it as a block to edit it")
    lines = text.splitlines(keepends=True)
    first, last = _zones_lines(document, camera_index, lines)
    key_column = camera.lc.key("zones")[1]
    camera["zones"] = edited = _edited_zones(old, zones)
    _keep_anchors(document, lines, set())
    # The whole document is written (ruamel places comments by their column in it), then only the
    # zones block is taken from what it wrote.
    written = _dumped(document, _indents(camera, old, key_column))
    block, written_column = _block(written, camera_index)
    ending = "\r\n" if lines[first].endswith("\r\n") else "\n"
    head = lines[first][:key_column]  # spaces, or the "- " of a camera whose first key is zones
    body = [head + block[0][written_column:]] + [_shifted(line, key_column - written_column) for line in block[1:]]
    new_lines = [line.rstrip("\r\n") + ending for line in body]
    if not lines[last].endswith("\n"):  # the file ends without a line break
        new_lines[-1] = new_lines[-1].removesuffix(ending)
    result = "".join(lines[:first] + new_lines + lines[last + 1:])
    _check_only_zones_changed(text, result, camera_index, _plain(edited))
    return result


def _round_trip(text: str) -> CommentedMap:
    try:
        document = _yaml().load(text)
    except YAMLError as exc:
        raise SiteEditError(f"the site file cannot be read for editing: {exc.__class__.__name__}") from None
    if not isinstance(document, CommentedMap):
        raise SiteEditError("the site file does not hold a mapping of settings")
    return document


def _yaml() -> YAML:
    # YAML 1.1 as PyYAML (which loads the site) reads it: a zone named "no" is written quoted, not as false.
    yaml_ = YAML()
    yaml_.version = (1, 1)
    yaml_.preserve_quotes = True
    yaml_.width = NO_WRAP
    return yaml_


def _camera(document: CommentedMap, camera_id: str) -> tuple[int, CommentedMap]:
    cameras = document.get("cameras")
    for index, camera in enumerate(cameras if isinstance(cameras, CommentedSeq) else []):
        if isinstance(camera, CommentedMap) and camera.get("id") == camera_id:
            return index, camera
    raise SiteEditError(f"the site file has no camera {camera_id!r}")


def _edited_zones(old: CommentedSeq, zones: Sequence[ZoneEdit]) -> CommentedSeq:
    sources = [zone.source for zone in zones if zone.source is not None]
    if len(sources) != len(set(sources)) or any(source >= len(old) for source in sources):
        raise SiteEditError("the zones name their place in the file wrongly: reload the editor")
    edited = CommentedSeq(_zone(old[zone.source] if zone.source is not None else None, old[0], zone)
                          for zone in zones)
    edited.fa.set_flow_style() if old.fa.flow_style() else edited.fa.set_block_style()
    edited.ca.comment = old.ca.comment  # the comment above the list stays above it
    edited.ca.items.update({index: old.ca.items[zone.source] for index, zone in enumerate(zones)
                            if zone.source in old.ca.items})  # a comment beside a zone moves with it
    return edited


def _zone(kept: CommentedMap | None, sibling: Any, edit: ZoneEdit) -> CommentedMap:
    """The kept zone with the edited fields changed in place (its other keys, comments and style stay),
    or a new zone written like its sibling."""
    zone = kept if kept is not None else _like(CommentedMap(), sibling)
    template = kept if kept is not None else sibling if isinstance(sibling, CommentedMap) else CommentedMap()
    polygon = [[round(float(value), DECIMALS) for value in point] for point in edit.polygon]
    fields: dict[str, Any] = {"name": edit.name, "grid": edit.grid, "tags": list(edit.tags), "polygon": polygon}
    for position, (key, value) in enumerate(fields.items()):
        if value is None:
            zone.pop(key, None)
        elif _plain(zone.get(key)) != value:
            styled = _styled(value, template.get(key))
            if key in zone:
                zone[key] = styled
            else:
                zone.insert(min(position, len(zone)), key, styled)
    return zone


def _styled(value: Any, template: Any) -> Any:
    """`value` as ruamel nodes in the flow or block style of `template` (its first item for the items);
    lists of numbers default to flow ([x, y])."""
    if not isinstance(value, list):
        return value
    first = template[0] if isinstance(template, CommentedSeq) and template else None
    return _like(CommentedSeq(_styled(item, first) for item in value), template)


def _like(node: CommentedMap | CommentedSeq, template: Any) -> Any:
    block = isinstance(template, CommentedMap | CommentedSeq) and not template.fa.flow_style()
    node.fa.set_block_style() if block else node.fa.set_flow_style()
    return node


def _zones_lines(document: CommentedMap, camera_index: int, lines: list[str]) -> tuple[int, int]:
    """First and last line of the camera's zones block: from its key to the last line holding a value
    before whatever follows (comments and blank lines after it belong to what follows)."""
    camera = document["cameras"][camera_index]
    first = camera.lc.key("zones")[0]
    last = _next_line(document, camera_index, camera, len(lines)) - 1
    while last > first and (not lines[last].strip() or lines[last].lstrip().startswith("#")):
        last -= 1
    return first, last


def _next_line(document: CommentedMap, camera_index: int, camera: CommentedMap, end: int) -> int:
    keys = list(camera)
    after = keys[keys.index("zones") + 1:]
    if after:
        return int(camera.lc.key(after[0])[0])
    cameras = document["cameras"]
    if camera_index + 1 < len(cameras):
        return int(cameras.lc.item(camera_index + 1)[0])
    top = list(document)
    later = top[top.index("cameras") + 1:]
    return int(document.lc.key(later[0])[0]) if later else end


def _keep_anchors(node: Any, lines: list[str], seen: set[int]) -> None:
    """Have each anchor (`&name`) written again under its own name where it was, so the aliases (`*name`)
    around the zones block, written as they were, still find it. ruamel forgets anchors named like its own
    (`&id001`, as PyYAML writes them), so the names are read off the text."""
    if not isinstance(node, CommentedMap | CommentedSeq) or id(node) in seen:
        return
    seen.add(id(node))
    line = node.lc.line
    if line is not None and (anchor := ANCHOR.match(lines[line], node.lc.col)):
        node.yaml_set_anchor(anchor.group(1), always_dump=True)
    for child in node.values() if isinstance(node, CommentedMap) else node:
        _keep_anchors(child, lines, seen)


def _indents(camera: CommentedMap, zones: CommentedSeq, key_column: int) -> tuple[int, int, int]:
    """(mapping, sequence, offset) as ruamel takes them, read from how the zones block is indented."""
    item_line, item_column = zones.lc.item(0)
    dash_column = camera.lc.value("zones")[1] if camera.lc.value("zones")[0] == item_line else None
    if dash_column is None or zones.fa.flow_style():
        return 2, 4, 2
    offset = max(0, dash_column - key_column)
    sequence = max(offset + 2, item_column - key_column)
    return max(2, sequence - offset), sequence, offset


def _dumped(document: CommentedMap, indents: tuple[int, int, int]) -> str:
    yaml_ = _yaml()
    mapping, sequence, offset = indents
    yaml_.indent(mapping=mapping, sequence=sequence, offset=offset)
    out = io.StringIO()
    yaml_.dump(document, out)
    return out.getvalue()


def _block(written: str, camera_index: int) -> tuple[list[str], int]:
    """The lines of the camera's zones block in the document as ruamel wrote it, and its key's column."""
    document = _round_trip(written)
    lines = written.splitlines(keepends=True)
    first, last = _zones_lines(document, camera_index, lines)
    return lines[first:last + 1], int(document["cameras"][camera_index].lc.key("zones")[1])


def _shifted(line: str, columns: int) -> str:
    """`line` indented `columns` more (or less, never past its text)."""
    if columns >= 0 or not line.strip():
        return " " * columns + line if line.strip() else line
    return line[min(-columns, len(line) - len(line.lstrip(" "))):]


def _plain(node: Any) -> Any:
    """ruamel's nodes as plain lists, dicts and scalars, to compare values."""
    if isinstance(node, dict):
        return {str(key): _plain(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_plain(item) for item in node]
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    return node


def _check_only_zones_changed(before: str, after: str, camera_index: int, zones: list[Any]) -> None:
    """Read both texts as the site loader does and check that only the zones differ, as meant."""
    try:
        old, new = yaml.safe_load(before), yaml.safe_load(after)
    except yaml.YAMLError as exc:
        raise SiteEditError(f"the edited file would not read back ({exc.__class__.__name__}): {HAND_EDIT}") from None
    meant = new["cameras"][camera_index].pop("zones")
    old["cameras"][camera_index].pop("zones")
    if meant != zones or old != new:
        raise SiteEditError(f"the zones could not be written without changing other settings: {HAND_EDIT}")

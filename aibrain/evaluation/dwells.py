"""Each truth object checked against the site, and its dwell: how long the camera's rule for its kind
(in its zone) waits before confirming, which sets the window in which confirming the object is right."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aibrain.assemble import camera_site_rules
from aibrain.evaluation.truth import Truth, TruthEntry
from configs.load import Site
from configs.problems import ConfigError, ConfigProblem
from configs.schema import CameraConfig
from configs.yaml_file import field_path


def rule_dwell_s(site: Site, camera: CameraConfig, kind: str, zone: str | None) -> float | None:
    """The dwell of the camera's rules for `kind` (in `zone`'s tags, when given): the shortest where several
    apply, as the first of them to confirm sets when confirming is right; 0 for a rule that does not wait.
    None when no rule of the camera watches for the kind there."""
    tags = {tag for z in camera.zones if zone is None or z.name == zone for tag in z.tags}
    dwells = [float(getattr(site.resolved_rule(rule).parameters, "dwell_s", 0.0))
              for rule in camera_site_rules(site, camera) if rule.kind == kind and tags & set(rule.zone_tags)]
    return min(dwells) if dwells else None


def object_dwells(site: Site, camera: CameraConfig, truth_file: Path, truth: Truth, raw: dict[str, Any],
                  entries: list[TruthEntry]) -> dict[tuple[str, str], float]:
    """(file name, object id) -> dwell_s for every object of `entries`; a kind the site does not know, a zone
    the camera does not have, or a kind no rule of the camera watches for there is a problem of the truth."""
    problems: list[ConfigProblem] = []
    dwells: dict[tuple[str, str], float] = {}
    for entry in entries:
        index = truth.files.index(entry)
        for number, obj in enumerate(entry.objects):
            found = object_dwell(site, camera, obj.kind, obj.zone)
            if isinstance(found, tuple):
                name, message = found
                problems.append(ConfigProblem(truth_file, field_path(("files", index, "objects", number, name), raw),
                                              message))
            else:
                dwells[entry.name, obj.id] = found
    if problems:
        raise ConfigError(problems)
    return dwells


def object_dwell(site: Site, camera: CameraConfig, kind: str, zone: str | None) -> float | tuple[str, str]:
    """The dwell for a truth object of `kind` in `zone`, or (field, message) saying why there is none."""
    zones = [z.name for z in camera.zones]
    if kind not in site.kinds:
        return "kind", f"{kind!r} is not a kind of the site's taxonomy ({site.file})"
    if zone is not None and zone not in zones:
        return "zone", f"camera {camera.id} has no zone {zone!r} (zones: {', '.join(zones)})"
    dwell = rule_dwell_s(site, camera, kind, zone)
    if dwell is None:
        where = f" in zone {zone}" if zone else ""
        return "kind", f"no rule of camera {camera.id} watches for {kind}{where} ({site.file}): nothing confirms it"
    return dwell

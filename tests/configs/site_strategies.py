"""Hypothesis strategies for site files: valid by construction, broken in one known field, or junk.

A `SiteBundle` is a site mapping plus the grids GeoJSON written beside it. `valid_sites()` draws
bundles that must load; `broken_sites()` takes one and breaks exactly one thing, returning the
field path a problem must name (a regular expression: an entry whose id was broken has no known
label); `junk_documents()` draws anything YAML can hold.
"""

from __future__ import annotations

import copy
import json
import math
import re
import reprlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from zoneinfo import available_timezones

import yaml
from hypothesis import assume
from hypothesis import strategies as st

from common.schedule import DAY_NAMES
from configs.schema import WebConfig
from configs.taxonomy import DEFAULT_TAXONOMY, PARAMETER_NAMES, TaxonomyFile
from detector.model_card import known_object_kinds, load_card
from detector.rules import RULE_TYPES
from streams.frame import DecodePolicy

SECRET = "s3cr3t-fuzz"  # the password in every generated URL; it must never reach a problem
CLIP, WEIGHTS, JUNK_CARD = "clip.mp4", "weights.onnx", "junk-card.yaml"
UNSET = "AIBRAIN_FUZZ_UNSET"  # environment variables with this prefix are never set
CARD_KINDS = sorted(known_object_kinds(load_card("yolov8n")))
TIMEZONES = sorted(available_timezones())
TAXONOMY = TaxonomyFile.model_validate(yaml.safe_load(DEFAULT_TAXONOMY.read_text(encoding="utf-8")))
ANY_LABEL = r"(?: \(.*\))?"  # the label of an entry whose id the mutation broke


@dataclass
class SiteBundle:
    site: dict[str, Any]
    grids: Any  # parsed GeoJSON, or str/bytes written as they are
    file_text: str | bytes | None = None  # written instead of the site's YAML when set
    credentials: list[str] = field(default_factory=lambda: [SECRET])

    def write(self, folder: Path) -> Path:
        """Write site.yaml, the grids file, a clip, weights and a non-UTF-8 card; return site.yaml."""
        folder.mkdir(parents=True, exist_ok=True)
        (folder / CLIP).write_bytes(b"\0")
        (folder / WEIGHTS).write_bytes(b"\0")
        (folder / JUNK_CARD).write_bytes(b"\xff\xfe\0junk")
        write_any(folder / "grids.geojson",
                  self.grids if isinstance(self.grids, str | bytes) else json.dumps(self.grids, ensure_ascii=False))
        path = folder / "site.yaml"
        write_any(path, self.file_text if self.file_text is not None
                  else yaml.safe_dump(self.site, allow_unicode=True, sort_keys=False))
        return path


def write_any(path: Path, content: str | bytes) -> None:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")


@dataclass(frozen=True)
class Broken:
    """A bundle broken in one place, and the field path (a regex) that a problem must name."""

    bundle: SiteBundle
    field: str
    what: str  # the mutation, for failure reports

    def names_field(self, field_path: str) -> bool:
        """Whether `field_path` is the broken field or lies inside it."""
        return re.fullmatch(self.field + r"(?:[.\[].*)?", field_path, re.DOTALL) is not None


# --- valid pieces -----------------------------------------------------------------------------

IDS = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,11}", fullmatch=True)
# Printable text without `$` (it would start a ${VAR} reference), including CJK and symbols.
TEXT = st.text(st.characters(categories=("L", "N", "P", "S", "Zs"), exclude_characters="$"),
               min_size=1, max_size=12).filter(lambda s: s.strip() == s and s != "")
FRACTION = st.integers(0, 1000).map(lambda v: v / 1000)
# A street's or community's name: "/" separates the two in scope keys.
PLACE_NAMES = TEXT.filter(lambda s: "/" not in s)


def unique_ids(count: int) -> st.SearchStrategy[list[str]]:
    return st.lists(IDS, min_size=count, max_size=count, unique_by=str.lower)


@st.composite
def polygons(draw: st.DrawFn) -> list[list[float]]:
    """A rectangle or a triangle with area, on a 1/1000 grid of the frame, as configs are drawn."""
    if draw(st.booleans()):
        x0, x1 = sorted(draw(st.lists(FRACTION, min_size=2, max_size=2, unique=True)))
        y0, y1 = sorted(draw(st.lists(FRACTION, min_size=2, max_size=2, unique=True)))
        return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]
    a, b, c = draw(st.lists(st.tuples(FRACTION, FRACTION), min_size=3, max_size=3))
    assume((b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]) != 0)
    return [list(a), list(b), list(c)]


def clock(draw: st.DrawFn, minute_of_day: int) -> str:
    hours, minutes = divmod(minute_of_day, 60)
    return f"{hours}:{minutes:02d}" if hours < 10 and draw(st.booleans()) else f"{hours:02d}:{minutes:02d}"


DAY = st.sampled_from(DAY_NAMES).flatmap(lambda d: st.sampled_from([d, d.lower(), d.upper()]))
DAYS = st.lists(st.one_of(DAY, st.tuples(DAY, DAY).map("-".join)), min_size=1, max_size=3).map(",".join)


@st.composite
def shifts(draw: st.DrawFn) -> str:
    start = draw(st.integers(0, 24 * 60 - 1))
    end = draw(st.integers(1, 24 * 60).filter(lambda e: e != start))
    dash = draw(st.sampled_from(["-", " - ", "- "]))
    return f"{draw(DAYS)} {clock(draw, start)}{dash}{clock(draw, end)}"


def square(lon: float, lat: float, size: float) -> list[list[list[float]]]:
    return [[[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]]


def grid_feature(grid_id: Any, name: Any, geometry: Any, street: Any = "外滩街道",
                 community: Any = "汇丰社区") -> dict[str, Any]:
    return {"type": "Feature", "properties": {"id": grid_id, "name": name, "street": street, "community": community},
            "geometry": geometry}


@st.composite
def grid_files(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, tuple[float, float]]]:
    """A FeatureCollection of 1-4 side-by-side squares, and a point inside each grid by id; the grids
    share a street or two, and their communities' names may repeat across streets."""
    ids = draw(unique_ids(draw(st.integers(1, 4))))
    streets, communities = (draw(st.lists(PLACE_NAMES, min_size=1, max_size=2)) for _ in range(2))
    lon = draw(st.integers(-17000, 16900)) / 100
    lat = draw(st.integers(-8000, 7900)) / 100
    size = 0.01
    features, centres = [], {}
    for k, grid_id in enumerate(ids):
        west = round(lon + k * size, 4)
        rings = square(west, lat, size)
        geometry = ({"type": "Polygon", "coordinates": rings} if draw(st.booleans())
                    else {"type": "MultiPolygon", "coordinates": [rings]})
        features.append(grid_feature(grid_id, draw(TEXT), geometry, draw(st.sampled_from(streets)),
                                     draw(st.sampled_from(communities))))
        centres[grid_id] = (round(west + size / 2, 6), round(lat + size / 2, 6))
    return {"type": "FeatureCollection", "features": features}, centres


def floats_in(low: float, high: float, *, exclude_low: bool = False) -> st.SearchStrategy[float]:
    return st.floats(low, high, exclude_min=exclude_low, allow_nan=False, allow_infinity=False)


def maybe(draw: st.DrawFn, target: dict[str, Any], key: str, values: st.SearchStrategy[Any]) -> None:
    """Set an optional key, or leave it to its default."""
    if draw(st.booleans()):
        target[key] = draw(values)


TAGS = st.sampled_from(["no_parking_non_motor", "no_parking_motor", "sidewalk", "fire-lane", "plaza.01"])
URLS = st.sampled_from([CLIP, f"./{CLIP}", f"rtsp://admin:{SECRET}@127.0.0.1:8554/cam",
                        f"rtsp://admin:${{{UNSET}_PW:-{SECRET}}}@192.0.2.10:554/Streaming/Channels/101",
                        "rtsp://192.0.2.10/live", "rtsps://cam.example/stream"])


@st.composite
def cameras(draw: st.DrawFn, camera_id: str, centres: dict[str, tuple[float, float]]) -> dict[str, Any]:
    camera: dict[str, Any] = {"id": camera_id, "name": draw(TEXT), "url": draw(URLS)}
    maybe(draw, camera, "detect_fps", floats_in(0.05, 60))
    maybe(draw, camera, "decode", st.sampled_from([p.value for p in DecodePolicy]))
    if "://" not in camera["url"]:
        maybe(draw, camera, "loop", st.booleans())
    maybe(draw, camera, "location", st.sampled_from(sorted(centres.values())).map(list))
    maybe(draw, camera, "open_timeout_s", floats_in(0, 120, exclude_low=True))
    maybe(draw, camera, "read_timeout_s", floats_in(0, 120, exclude_low=True))
    maybe(draw, camera, "reconnect_max_s", floats_in(1, 600))
    zones = []
    for name in draw(unique_ids(draw(st.integers(1, 3)))):
        zone: dict[str, Any] = {"name": name, "tags": draw(st.lists(TAGS, max_size=3, unique=True)),
                                "polygon": draw(polygons())}
        if "location" not in camera or draw(st.booleans()):
            zone["grid"] = draw(st.sampled_from(sorted(centres)))
        if draw(st.booleans()):
            kinds = draw(st.lists(st.sampled_from(sorted(TAXONOMY.kinds)), max_size=2, unique=True))
            zone["allow"] = {kind: draw(st.lists(shifts(), min_size=1, max_size=2)) for kind in kinds}
        zones.append(zone)
    camera["zones"] = zones
    return camera


@st.composite
def workers(draw: st.DrawFn, grid_ids: list[str]) -> list[dict[str, Any]]:
    """1-3 workers; the first covers every grid, so every zone's grid has someone."""
    found = []
    for index, worker_id in enumerate(draw(unique_ids(draw(st.integers(1, 3))))):
        grids = draw(st.permutations(grid_ids)) if index == 0 else draw(
            st.lists(st.sampled_from(grid_ids), min_size=1, max_size=len(grid_ids), unique=True))
        found.append({"id": worker_id, "name": draw(TEXT), "grids": grids,
                      "shifts": draw(st.lists(shifts(), min_size=1, max_size=3))})
    return found


@st.composite
def rules(draw: st.DrawFn) -> dict[str, Any]:
    """A rule for a kind of the shipped taxonomy, with parameters its rule type takes."""
    code = draw(st.sampled_from(sorted(TAXONOMY.kinds)))
    kind = TAXONOMY.kinds[code]
    takes = RULE_TYPES[kind.rule["type"]].parameter_names()
    rule: dict[str, Any] = {"kind": code, "zone_tags": draw(st.lists(TAGS, min_size=1, max_size=3, unique=True))}
    if "dwell_s" in takes:
        maybe(draw, rule, "dwell_s", floats_in(0, 7 * 86400, exclude_low=True))
    if "objects" in takes and (not set(kind.rule.get("objects", ())) & set(CARD_KINDS) or draw(st.booleans())):
        rule["objects"] = draw(st.lists(st.sampled_from(CARD_KINDS), min_size=1, max_size=3, unique=True))
    maybe(draw, rule, "min_confidence", floats_in(0, 1))
    for name, high in (("max_displacement", 5), ("max_scale_change", 5), ("same_object_iou", 1), ("occluded_cover", 1)):
        if name in takes:
            maybe(draw, rule, name, floats_in(0, high, exclude_low=True))
    for name in ("min_look_similarity", "max_colour_distance", "min_seen_ratio"):
        if name in takes:
            maybe(draw, rule, name, floats_in(0, 1))
    if "lost_tolerance_s" in takes:
        maybe(draw, rule, "lost_tolerance_s", floats_in(0, 3600))
    accept = draw(floats_in(0.5, 1440))
    if draw(st.booleans()):
        rule["accept_within_min"] = accept
        rule["resolve_within_min"] = draw(floats_in(accept, 10080))
    return rule


@st.composite
def valid_sites(draw: st.DrawFn) -> SiteBundle:
    grids, centres = draw(grid_files())
    grid_ids = sorted(centres)
    site: dict[str, Any] = {}
    maybe(draw, site, "timezone", st.sampled_from(TIMEZONES))
    maybe(draw, site, "database", st.sampled_from([
        "sqlite:///var/aibrain.db", "sqlite:///:memory:", "sqlite:////tmp/aibrain-fuzz/x.db",
        f"postgresql+psycopg://aibrain:{SECRET}@127.0.0.1:5432/aibrain",
        f"postgresql://aibrain:${{{UNSET}_DB:-{SECRET}}}@db-host/aibrain"]))
    maybe(draw, site, "broker", st.sampled_from([
        f"amqp://guest:{SECRET}@127.0.0.1:5672/%2F", f"amqps://u:{SECRET}@broker.example:5671/street",
        "amqp://127.0.0.1"]))
    maybe(draw, site, "queue_prefix", IDS)
    maybe(draw, site, "fallback_queue", IDS)
    maybe(draw, site, "evidence_dir", st.sampled_from(["var/evidence", "/tmp/aibrain-fuzz/evidence", "证据"]))
    if draw(st.booleans()):
        site["model"], site["model_card"] = WEIGHTS, "yolov8n"
    maybe(draw, site, "model_dirs", st.lists(st.sampled_from(["models", "~/.cache/aibrain/models", "/srv/m"])))
    site["grids"] = "grids.geojson"
    maybe(draw, site, "district", TEXT)
    if draw(st.booleans()):
        site["web"] = draw(webs())
    detector: dict[str, Any] = {}
    maybe(draw, detector, "confidence", floats_in(0.01, 0.99))
    maybe(draw, detector, "iou", floats_in(0.01, 0.99))
    maybe(draw, detector, "max_batch", st.integers(1, 256))
    maybe(draw, detector, "max_wait_ms", floats_in(0, 1000))
    maybe(draw, detector, "max_frame_gap_s", floats_in(0.1, 3600))
    if detector:
        site["detector"] = detector
    site["workers"] = draw(workers(grid_ids))
    site["cameras"] = [draw(cameras(camera_id, centres)) for camera_id in draw(unique_ids(draw(st.integers(1, 3))))]
    site["rules"] = draw(st.lists(rules(), min_size=1, max_size=3))
    if draw(st.booleans()):
        site["escalation"] = draw(escalations(grid_ids))
    if draw(st.booleans()):
        site["verification"] = draw(verifications())
    if draw(st.booleans()):
        site["object_filters"] = {kind: {"min_confidence": draw(floats_in(0, 1)), "min_area": draw(floats_in(0, 0.1))}
                                  for kind in draw(st.lists(st.sampled_from(CARD_KINDS), max_size=2, unique=True))}
    if draw(st.booleans()):  # a kind of the site's own, watched where its first rule is
        site["kinds"] = {"site_kind": {"label_zh": draw(TEXT), "accept_within_min": 5, "resolve_within_min": 60,
                                       "rule": {"type": "count", "objects": [draw(st.sampled_from(CARD_KINDS))],
                                                "min_count": draw(st.integers(1, 50)), "dwell_s": 30}}}
        site["rules"].append({"kind": "site_kind", "zone_tags": site["rules"][0]["zone_tags"]})
    return SiteBundle(site, grids)


@st.composite
def escalations(draw: st.DrawFn, grid_ids: list[str]) -> dict[str, Any]:
    chains = st.lists(IDS, min_size=1, max_size=3, unique=True)
    escalation: dict[str, Any] = {"grids": {grid: draw(chains) for grid in
                                            draw(st.lists(st.sampled_from(grid_ids), unique=True, max_size=2))}}
    maybe(draw, escalation, "default", chains)
    maybe(draw, escalation, "check_every_s", floats_in(0, 3600, exclude_low=True))
    return escalation


@st.composite
def webs(draw: st.DrawFn) -> dict[str, Any]:
    web: dict[str, Any] = {}
    maybe(draw, web, "host", st.sampled_from(["127.0.0.1", "0.0.0.0", "::1", "workbench.example"]))
    maybe(draw, web, "port", st.integers(1, 65535))
    maybe(draw, web, "session_idle_min", floats_in(0, 600, exclude_low=True))
    if "session_idle_min" in web or draw(st.booleans()):  # the default 12 h outlives idle times up to 600 min
        idle = web.get("session_idle_min", WebConfig.model_fields["session_idle_min"].default)
        web["session_max_h"] = draw(floats_in(idle / 60 + 0.01, 2160))
    maybe(draw, web, "secure_cookies", st.booleans())
    return web


@st.composite
def verifications(draw: st.DrawFn) -> dict[str, Any]:
    look = draw(floats_in(0, 600))
    verification: dict[str, Any] = {"look_s": look, "give_up_s": draw(floats_in(look + 1, 86400))}
    maybe(draw, verification, "min_frames", st.integers(1, 10_000))
    maybe(draw, verification, "present_ratio", floats_in(0, 1, exclude_low=True))
    maybe(draw, verification, "min_overlap", floats_in(0, 1, exclude_low=True))
    maybe(draw, verification, "retry_s", floats_in(0, 86400, exclude_low=True))
    return verification


# --- one thing broken -------------------------------------------------------------------------

Values = st.SearchStrategy[Any]
# Invalid for every number of the schema: all are bounded above and must be > 0 or >= 0.
BAD_NUMBERS: Values = st.sampled_from([
    math.nan, math.inf, -math.inf, -1, -1e-9, 10**400, 1e300, "fast", "", [], {}, None, [1.0], {"value": 1}])
OPTIONAL_NUMBERS = frozenset({"accept_within_min", "resolve_within_min"})  # null: the default applies
BAD_IDS: Values = st.sampled_from([
    "", " ", "-lead", "a b", "x" * 65, "摄像头", "a/b", "new\nline", "tab\t", 12, 1.5, True, [], {"id": 1}, ["cam"]])
BAD_TEXT: Values = st.sampled_from(["", 5, None, [], {"zh": "东门"}, True])
BAD_SHIFTS: Values = st.one_of(
    st.sampled_from(["", "   ", "Mon", "08:00-20:00", "Mon08:00-20:00", "Mon 08:00", "Mon 08:00-", "Mon -20:00",
                     "Mo 08:00-20:00", "Montag 08:00-20:00", "星期一 08:00-20:00", "Mon- 08:00-20:00",
                     "-Mon 08:00-20:00", "Mon,,Tue 08:00-20:00", "Mon 25:00-08:00", "Mon 08:60-09:00",
                     "Mon 8-9", "Mon 08:0-09:00", "Mon 24:01-08:00", "Mon x:00-09:00", "Mon 08:00:00-09:00",
                     "Mon 24:00-08:00", "Mon 08:00-08:00", "Mon 00:00-00:00", "Mon 08:00-20:00 extra",
                     "Mon 08:00–20:00", "Mon 08：00-20:00"]),
    st.sampled_from([8, None, [], {"Mon": "08:00-20:00"}, 8.5]))
BAD_POLYGON_SHAPES: Values = st.sampled_from([
    [], [[0.1, 0.1]], [[0.1, 0.1], [0.9, 0.9]],
    [[0.1, 0.1], [0.9, 0.9], [0.9, 0.1], [0.1, 0.9]],  # bow tie
    [[0.1, 0.1], [0.5, 0.5], [0.9, 0.9]],  # a line: no area
    [[0.2, 0.2], [0.2, 0.2], [0.2, 0.2]],
    [[0.1, 0.1], [1.5, 0.1], [0.5, 0.9]], [[-0.1, 0.1], [0.9, 0.1], [0.5, 0.9]],
    [[0.1, 0.1], [0.9, 0.1], [0.5, math.nan]], [[0.1, 0.1], [0.9, 0.1], [0.5, math.inf]],
    [[0.1, 0.1], [0.9, 0.1], [0.5, 10**400]],
    [[0.1], [0.9, 0.1], [0.5, 0.9]], [[0.1, 0.1, 0.1], [0.9, 0.1], [0.5, 0.9]],
    [["a", "b"], [0.9, 0.1], [0.5, 0.9]], [[None, None], [0.9, 0.1], [0.5, 0.9]],
    "0,0 1,0 1,1", 3, {"points": []}, [0.1, 0.1, 0.9, 0.1, 0.5, 0.9], None,
])
BAD_LOCATIONS: Values = st.sampled_from([
    [200, 0], [0, 100], [-181, 0], [math.nan, 0], [0, math.inf], [1], [1, 2, 3], [], "here", ["a", "b"],
    [None, None], {"lon": 1, "lat": 2}, 5, [10**400, 0]])
BAD_TIMEZONES: Values = st.sampled_from([
    "", "Mars/Base", "America", "Asia", "../etc/passwd", "/etc/localtime", "A" * 300, "UTC\0", "Asia/Shanghai ", 8,
    None, [], "+08:00"])
BAD_DATABASES: Values = st.sampled_from([
    "", "not a url", f"mysql://u:{SECRET}@h/db", "sqlite//x.db", "http://x/db", f"postgresql://u:{SECRET}@[::1/db",
    f"postgresql://u:{SECRET}@h:port/db", 5, None, "oracle://h/db"])
BAD_BROKERS: Values = st.sampled_from([
    "", "127.0.0.1:5672", f"http://u:{SECRET}@h/", f"amqp://u:{SECRET}@[::1", f"amqp://u:{SECRET}@h:port/",
    f"amqp://u:{SECRET}@h:99999/", 5, [], f"amqp://u:{SECRET}@h/?heartbeat=x"])
BAD_FILES: Values = st.sampled_from([
    "missing.mp4", "a\0b.mp4", "~no_such_user_fuzz/x.mp4", ".", "sub/../missing.mp4", "/dev/null/x.mp4",
    "x" * 300 + ".mp4"])
BAD_MODELS: Values = st.sampled_from([
    "missing.onnx", "m\0.onnx", "~no_such_user_fuzz/w.onnx", "no-such-card", "missing.yaml", JUNK_CARD, "../card.yml",
    "x" * 300 + ".pt", 5, None])


@dataclass(frozen=True)
class Target:
    """A mapping inside the site, the field path that names it, and the key that labels it there."""

    node: dict[Any, Any]
    path: str  # "cameras[0] (cam-01)", "" for the site itself
    label_key: str | None = None  # "id" for cameras: its value is the "(cam-01)" in the path

    def at(self, key: str | int) -> str:
        """Regex of the path of `key` in this node; a broken or missing label key leaves the label unknown."""
        if key == self.label_key:
            return re.escape(re.sub(r" \([^()]*\)$", "", self.path)) + ANY_LABEL + re.escape(f".{key}")
        return re.escape(f"{self.path}.{key}" if self.path else str(key))

    def whole(self) -> str:
        return re.escape(self.path)


def camera_targets(site: dict[str, Any]) -> list[Target]:
    return [Target(c, f"cameras[{i}] ({c['id']})", "id") for i, c in enumerate(site["cameras"])]


def zone_targets(site: dict[str, Any]) -> list[Target]:
    return [Target(z, f"{cam.path}.zones[{j}] ({z['name']})", "name")
            for cam in camera_targets(site) for j, z in enumerate(cam.node["zones"])]


def worker_targets(site: dict[str, Any]) -> list[Target]:
    return [Target(w, f"workers[{i}] ({w['id']})", "id") for i, w in enumerate(site["workers"])]


def rule_targets(site: dict[str, Any]) -> list[Target]:
    return [Target(r, f"rules[{i}] ({r['kind']})", "kind") for i, r in enumerate(site["rules"])]


def detector_target(site: dict[str, Any]) -> Target:
    return Target(site.setdefault("detector", {}), "detector")


def web_target(site: dict[str, Any]) -> Target:
    return Target(site.setdefault("web", {}), "web")


Mutation = Callable[[st.DrawFn, SiteBundle], tuple[str, str]]  # -> (field regex, description)


def bad_number(draw: st.DrawFn, b: SiteBundle) -> tuple[str, str]:
    site = b.site
    target, key = draw(st.sampled_from(
        [(t, k) for t in camera_targets(site) for k in ("detect_fps", "open_timeout_s", "read_timeout_s",
                                                        "reconnect_max_s")]
        + [(t, k) for t in rule_targets(site) for k in ("dwell_s", "min_confidence", "max_displacement",
                                                        "lost_tolerance_s", "accept_within_min",
                                                        "resolve_within_min", *IDENTITY_PARAMETERS)]
        + [(detector_target(site), k) for k in ("confidence", "iou", "max_batch", "max_wait_ms", "max_frame_gap_s")]
        + [(web_target(site), k) for k in ("port", "session_idle_min", "session_max_h")]))
    # A rule's deadlines may be null on purpose (the kind's own apply); any other bad number is refused.
    bad = BAD_NUMBERS.filter(lambda v: v is not None) if key in OPTIONAL_NUMBERS else BAD_NUMBERS
    value = target.node[key] = draw(bad)
    return target.at(key), f"{target.path}.{key} = {value!r}"


def bad_identifier(draw: st.DrawFn, b: SiteBundle) -> tuple[str, str]:
    site = b.site
    choices: list[tuple[Target, str, int | None]] = []
    choices += (
        [(t, "id", None) for t in camera_targets(site) + worker_targets(site)]
        + [(t, "name", None) for t in zone_targets(site)]
        + [(Target(site, ""), k, None) for k in ("queue_prefix", "fallback_queue")]
        + [(t, "grid", None) for t in zone_targets(site)]
        + [(t, "tags", i) for t in zone_targets(site) for i in range(len(t.node["tags"]))]
        + [(t, "zone_tags", i) for t in rule_targets(site) for i in range(len(t.node["zone_tags"]))]
        + [(t, "grids", i) for t in worker_targets(site) for i in range(len(t.node["grids"]))])
    target, key, index = draw(st.sampled_from(choices))
    value = draw(BAD_IDS)
    if index is None:
        target.node[key] = value
        return target.at(key), f"{target.path}.{key} = {value!r}"
    target.node[key][index] = value
    return target.at(key) + re.escape(f"[{index}]"), f"{target.path}.{key}[{index}] = {value!r}"


def bad_text(draw: st.DrawFn, b: SiteBundle) -> tuple[str, str]:
    target = draw(st.sampled_from(camera_targets(b.site) + worker_targets(b.site)))
    value = target.node["name"] = draw(BAD_TEXT)
    return target.at("name"), f"{target.path}.name = {value!r}"


REQUIRED = {"camera": ("id", "name", "url", "zones"), "zone": ("name", "polygon"),
            "worker": ("id", "name", "grids", "shifts"), "rule": ("kind", "zone_tags")}  # dwell_s: taxonomy default


def missing_key(draw: st.DrawFn, b: SiteBundle) -> tuple[str, str]:
    site = b.site
    choices = ([(Target(site, ""), k) for k in ("grids", "workers", "cameras", "rules")]
               + [(t, k) for t in camera_targets(site) for k in REQUIRED["camera"]]
               + [(t, k) for t in zone_targets(site) for k in REQUIRED["zone"]]
               + [(t, k) for t in worker_targets(site) for k in REQUIRED["worker"]]
               + [(t, k) for t in rule_targets(site) for k in REQUIRED["rule"]])
    target, key = draw(st.sampled_from(choices))
    del target.node[key]
    return target.at(key), f"{target.path}: no {key}"


# Printable keys, so the path names them as written (tests/configs/test_bad_input.py has the others).
KEYS = st.one_of(st.text(st.characters(categories=("L", "N", "P", "S")), min_size=1, max_size=10), st.integers(-5, 5),
                 st.sampled_from(["ID", "zone", "url ", "x.y"]))


def extra_key(draw: st.DrawFn, b: SiteBundle) -> tuple[str, str]:
    site = b.site
    target = draw(st.sampled_from([Target(site, ""), detector_target(site)] + camera_targets(site)
                                  + zone_targets(site) + worker_targets(site) + rule_targets(site)))
    key = draw(KEYS.filter(lambda k: k not in target.node and str(k) not in FIELD_NAMES))
    target.node[key] = draw(st.one_of(st.none(), st.integers(), st.text(max_size=5)))
    return target.at(str(key)), f"{target.path}: extra key {key!r}"


IDENTITY_PARAMETERS = ("same_object_iou", "min_look_similarity", "max_colour_distance", "min_seen_ratio",
                       "occluded_cover", "max_scale_change")
FIELD_NAMES = {"timezone", "database", "broker", "queue_prefix", "fallback_queue", "evidence_dir", "model",
               "model_card", "model_dirs", "grids", "detector", "workers", "cameras", "rules", "id", "name", "url",
               "detect_fps", "decode", "loop", "location", "open_timeout_s", "read_timeout_s", "reconnect_max_s",
               "zones", "tags", "polygon", "shifts", "kind", "zone_tags", "dwell_s", "objects", "min_confidence",
               "max_displacement", "lost_tolerance_s", "accept_within_min", "resolve_within_min", "confidence",
               "iou", "max_batch", "max_wait_ms", "max_frame_gap_s", "allow", "kinds", "object_filters", "taxonomy",
               "escalation", "verification", "groups", "settle_s", "check_every_s", "checks", "min_present",
               "min_count", "type", "metrics_port", "metrics_host", "broker_tls", "offline_after_s", "district",
               "web", "host", "port", "session_idle_min", "session_max_h", "secure_cookies",
               "evidence_frames", "decode_device", "providers", "device_id", "trt_cache_dir", "trt_fp16",
               "trt_workspace_mb", "sessions", *IDENTITY_PARAMETERS}

NOT_A_LIST = st.sampled_from(["x", 5, {"a": 1}, None, True])


def wrong_container(draw: st.DrawFn, b: SiteBundle) -> tuple[str, str]:
    """A list or a mapping replaced by something else, or a required list left empty."""
    site = b.site
    root = Target(site, "")
    choices = ([(root, k) for k in ("workers", "cameras", "rules", "detector")]
               + [(t, k) for t in camera_targets(site) for k in ("zones",)]
               + [(t, k) for t in worker_targets(site) for k in ("grids", "shifts")]
               + [(t, "zone_tags") for t in rule_targets(site)])
    target, key = draw(st.sampled_from(choices))
    value: Any = draw(NOT_A_LIST if key == "detector" else st.one_of(NOT_A_LIST, st.just([])))
    target.node[key] = value
    return target.at(key), f"{target.path}.{key} = {value!r}"


def entry_not_a_mapping(draw: st.DrawFn, b: SiteBundle) -> tuple[str, str]:
    site = b.site
    key = draw(st.sampled_from(["cameras", "workers", "rules"]))
    index = draw(st.integers(0, len(site[key]) - 1))
    value = site[key][index] = draw(st.sampled_from(["cam-01", 5, None, [], [{"id": "x"}]]))
    return re.escape(f"{key}[{index}]"), f"{key}[{index}] = {value!r}"


def bad_shift(draw: st.DrawFn, b: SiteBundle) -> tuple[str, str]:
    target = draw(st.sampled_from(worker_targets(b.site)))
    index = draw(st.integers(0, len(target.node["shifts"]) - 1))
    value = target.node["shifts"][index] = draw(BAD_SHIFTS)
    return target.at("shifts"), f"{target.path}.shifts[{index}] = {value!r}"


def bad_polygon(draw: st.DrawFn, b: SiteBundle) -> tuple[str, str]:
    target = draw(st.sampled_from(zone_targets(b.site)))
    value = target.node["polygon"] = copy.deepcopy(draw(BAD_POLYGON_SHAPES))
    return target.at("polygon"), f"{target.path}.polygon = {value!r}"


def bad_location(draw: st.DrawFn, b: SiteBundle) -> tuple[str, str]:
    target = draw(st.sampled_from(camera_targets(b.site)))
    value = target.node["location"] = draw(BAD_LOCATIONS)
    return target.at("location"), f"{target.path}.location = {value!r}"


def zone_outside_grids(draw: st.DrawFn, b: SiteBundle) -> tuple[str, str]:
    """A zone without a grid whose camera stands outside every grid, or has no location at all."""
    target = draw(st.sampled_from(zone_targets(b.site)))
    camera = next(c for c in camera_targets(b.site) if target.path.startswith(c.path + "."))
    target.node.pop("grid", None)
    if draw(st.booleans()):
        camera.node.pop("location", None)
        return target.whole(), f"{target.path}: no grid, camera without location"
    camera.node["location"] = [draw(floats_in(-180, 180)), -89.999]  # the generated grids stay north of -80
    return target.whole(), f"{target.path}: no grid, camera at {camera.node['location']}"


def unknown_grid(draw: st.DrawFn, b: SiteBundle) -> tuple[str, str]:
    if draw(st.booleans()):
        target = draw(st.sampled_from(zone_targets(b.site)))
        target.node["grid"] = "NO-SUCH-GRID"
        return target.at("grid"), f"{target.path}.grid = NO-SUCH-GRID"
    target = draw(st.sampled_from(worker_targets(b.site)))
    target.node["grids"].append("NO-SUCH-GRID")
    return target.at("grids"), f"{target.path}.grids += NO-SUCH-GRID"


def uncovered_grid(draw: st.DrawFn, b: SiteBundle) -> tuple[str, str]:
    """A grid added to the file and given to a zone, with no worker covering it."""
    geometry = b.grids["features"][0]["geometry"]
    rings = geometry["coordinates"][0] if geometry["type"] == "MultiPolygon" else geometry["coordinates"]
    west, south = rings[0][0]
    b.grids["features"].append(grid_feature("NOBODYS", "无人网格", {"type": "Polygon",
                                                               "coordinates": square(west, south + 0.02, 0.01)}))
    target = draw(st.sampled_from(zone_targets(b.site)))
    target.node["grid"] = "NOBODYS"
    return target.whole(), f"{target.path}.grid = NOBODYS (covered by no worker)"


def duplicate_entry(draw: st.DrawFn, b: SiteBundle) -> tuple[str, str]:
    site = b.site
    what = draw(st.sampled_from(["camera", "worker", "zone"]))
    if what == "zone":
        camera = draw(st.sampled_from(camera_targets(site)))
        zones = camera.node["zones"]
        zones.append(copy.deepcopy(draw(st.sampled_from(zones))))
        return re.escape(f"{camera.path}.zones[{len(zones) - 1}] ({zones[-1]['name']})"), f"{camera.path}: zone twice"
    key = "cameras" if what == "camera" else "workers"
    site[key].append(copy.deepcopy(draw(st.sampled_from(site[key]))))
    return re.escape(f"{key}[{len(site[key]) - 1}] ({site[key][-1]['id']})"), f"{key}: entry twice"


def bad_rule(draw: st.DrawFn, b: SiteBundle) -> tuple[str, str]:
    target = draw(st.sampled_from(rule_targets(b.site)))
    how = draw(st.sampled_from(["kind", "parameter", "objects", "due"]))
    value: Any
    if how == "kind":
        value = target.node["kind"] = draw(st.sampled_from(["jaywalking", "", "NON_MOTOR_PARKING", 3, None, "x" * 40]))
        return target.at("kind"), f"{target.path}.kind = {value!r}"
    if how == "parameter":  # one its rule type does not take
        code = target.node["kind"]
        site_kind = b.site.get("kinds", {}).get(code)
        rule_type = site_kind["rule"]["type"] if site_kind else TAXONOMY.kinds[code].rule["type"]
        takes = RULE_TYPES[rule_type].parameter_names()
        name = draw(st.sampled_from(sorted(PARAMETER_NAMES - takes)))
        target.node[name] = [{"objects": ["person"]}] if name == "groups" else 3
        return target.at(name), f"{target.path}.{name} on a rule that does not take it"
    if how == "objects":
        value = draw(st.sampled_from([["flying_saucer"], "bicycle", [3], {"a": "b"}, [],
                                           [*CARD_KINDS[:1], "e_bike"]]))
        target.node["objects"] = value
        return target.at("objects"), f"{target.path}.objects = {value!r}"
    accept = draw(floats_in(2, 1440))
    target.node["accept_within_min"], target.node["resolve_within_min"] = accept, accept / 2
    return target.at("resolve_within_min"), f"{target.path}: accept within {accept}, resolve within {accept / 2}"


def bad_escalation(draw: st.DrawFn, b: SiteBundle) -> tuple[str, str]:
    escalation = b.site.setdefault("escalation", {})
    how = draw(st.sampled_from(["grid", "target", "interval"]))
    if how == "grid":
        escalation.setdefault("grids", {})["NO-SUCH-GRID"] = ["street-centre"]
        return re.escape("escalation.grids.NO-SUCH-GRID"), "escalation for a grid not in the grids file"
    if how == "target":
        value = draw(BAD_IDS)
        escalation["default"] = ["street-centre", value]
        return re.escape("escalation.default[1]"), f"escalation target {value!r}"
    value = escalation["check_every_s"] = draw(BAD_NUMBERS)
    return re.escape("escalation.check_every_s"), f"escalation.check_every_s = {value!r}"


def bad_verification(draw: st.DrawFn, b: SiteBundle) -> tuple[str, str]:
    look = draw(floats_in(1, 600))
    b.site["verification"] = {"look_s": look, "give_up_s": look / 2}
    return "verification", f"verification gives up ({look / 2} s) before its look ends ({look} s)"


def bad_timezone(draw: st.DrawFn, b: SiteBundle) -> tuple[str, str]:
    value = b.site["timezone"] = draw(BAD_TIMEZONES)
    return "timezone", f"timezone = {value!r}"


def bad_url(draw: st.DrawFn, b: SiteBundle) -> tuple[str, str]:
    key = draw(st.sampled_from(["database", "broker"]))
    value = b.site[key] = draw(BAD_DATABASES if key == "database" else BAD_BROKERS)
    return key, f"{key} = {value!r}"


def bad_path(draw: st.DrawFn, b: SiteBundle) -> tuple[str, str]:
    site = b.site
    value: Any
    where = draw(st.sampled_from(["camera", "grids", "model", "model_card"]))
    if where == "camera":
        target = draw(st.sampled_from(camera_targets(site)))
        value = target.node["url"] = draw(BAD_FILES)
        return target.at("url"), f"{target.path}.url = {value!r}"
    if where == "model_card":
        site["model"] = WEIGHTS
        value = site["model_card"] = draw(BAD_MODELS)
        return "model_card", f"model_card = {value!r}"
    value = site[where] = draw(BAD_FILES if where == "grids" else BAD_MODELS)
    return where, f"{where} = {value!r}"


def unset_variable(draw: st.DrawFn, b: SiteBundle) -> tuple[str, str]:
    site = b.site
    choices = ([(Target(site, ""), "database")] + [(t, k) for t in camera_targets(site) for k in ("name", "url")]
               + [(t, "name") for t in worker_targets(site)])
    target, key = draw(st.sampled_from(choices))
    before = draw(st.sampled_from(["", "rtsp://admin:", "东门 "]))
    target.node[key] = f"{before}${{{UNSET}_{draw(st.integers(0, 99))}}}"
    return target.at(key), f"{target.path}.{key} = {target.node[key]!r}"


# GeoJSON broken in one place; `load_site` must report it under `grids`.
BAD_GEOJSON_DOCUMENTS: Values = st.sampled_from([
    "", "not json", "{", b"\xff\xfe{}", "[" * 100_000,
    '{"type": "FeatureCollection", "features": [' + "9" * 5000 + "]}",
    json.dumps([]), json.dumps("FeatureCollection"), json.dumps({"type": "Feature"}), json.dumps(None),
    json.dumps({"type": "FeatureCollection"}), json.dumps({"type": "FeatureCollection", "features": []}),
    json.dumps({"type": "FeatureCollection", "features": {"a": 1}}),
])


def feature_breakers() -> st.SearchStrategy[Callable[[dict[str, Any]], None]]:
    def setter(*path_and_value: Any) -> Callable[[dict[str, Any]], None]:
        *path, value = path_and_value

        def apply(feature: dict[str, Any]) -> None:
            node = feature
            for key in path[:-1]:
                node = node[key]
            node[path[-1]] = copy.deepcopy(value)
        return apply

    def dropper(*path: str) -> Callable[[dict[str, Any]], None]:
        def apply(feature: dict[str, Any]) -> None:
            node = feature
            for key in path[:-1]:
                node = node[key]
            del node[path[-1]]
        return apply

    return st.sampled_from([
        setter("type", "Point"), dropper("type"), dropper("properties"), setter("properties", None),
        setter("properties", {}), setter("properties", []), setter("properties", "G-01"),
        setter("properties", "id", ""), setter("properties", "id", "  "), setter("properties", "id", 5),
        setter("properties", "id", None), dropper("properties", "id"), setter("properties", "name", ""),
        setter("properties", "name", ["n"]), dropper("properties", "name"),
        setter("properties", "street", ""), setter("properties", "street", "外滩/街道"),
        dropper("properties", "street"), setter("properties", "community", " "),
        setter("properties", "community", 7), setter("properties", "community", "汇丰/社区"),
        dropper("properties", "community"),
        dropper("geometry"), setter("geometry", None), setter("geometry", "type", "Point"),
        setter("geometry", "type", "LineString"), setter("geometry", "coordinates", "x"),
        setter("geometry", "coordinates", []), setter("geometry", "coordinates", [[]]),
        setter("geometry", "coordinates", [[[0, 0], [1, 1]]]), setter("geometry", "coordinates", None),
        dropper("geometry", "coordinates"),
        setter("geometry", "coordinates", [[[math.nan, 0], [1, 0], [1, 1], [math.nan, 0]]]),
        setter("geometry", "coordinates", [[[0, 0], [1e300, 0], [1, 1], [0, 0]]]),
        setter("geometry", "coordinates", [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]),  # bow tie
        setter("geometry", "coordinates", [[["a", "b"], [1, 0], [1, 1], ["a", "b"]]]),
        setter("geometry", "coordinates", [[[0, 0, 0, 0], [1, 0], [1, 1], [0, 0]]]),
        setter("geometry", "coordinates", [[[200, 0], [201, 0], [201, 1], [200, 0]]]),
        setter("geometry", "coordinates", [[[0, 0], [10**400, 0], [1, 1], [0, 0]]]),
    ])


def bad_grids_file(draw: st.DrawFn, b: SiteBundle) -> tuple[str, str]:
    if draw(st.booleans()):
        b.grids = draw(BAD_GEOJSON_DOCUMENTS)
        return "grids", f"grids file = {b.grids[:40]!r}"
    features = b.grids["features"]
    index = draw(st.integers(0, len(features) - 1))
    if draw(st.integers(0, 9)) == 0:  # a second feature with the same id
        features.append(copy.deepcopy(features[index]))
        return "grids", f"grids file: features[{index}] twice"
    breaker = draw(feature_breakers())
    breaker(features[index])
    return "grids", f"grids file: features[{index}] broken"


JSON_JUNK = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=10)),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=20)
GEOJSON_KEYS = st.sampled_from(["type", "features", "properties", "geometry", "coordinates", "id", "name", "street",
                                "community"])


@st.composite
def junk_geojson(draw: st.DrawFn) -> Any:
    """JSON that looks a little like a FeatureCollection: its keys, junk values."""
    feature = st.dictionaries(GEOJSON_KEYS, st.one_of(JSON_JUNK, st.dictionaries(GEOJSON_KEYS, JSON_JUNK)))
    return draw(st.one_of(JSON_JUNK, st.fixed_dictionaries(
        {"type": st.sampled_from(["FeatureCollection", "Feature", 1])}, optional={"features": st.lists(feature)})))


def junk_grids_file(draw: st.DrawFn, b: SiteBundle) -> tuple[str, str]:
    b.grids = draw(junk_geojson())
    return "grids", f"grids file = {reprlib.repr(b.grids)}"


MUTATIONS: list[Mutation] = [
    bad_number, bad_identifier, bad_text, missing_key, extra_key, wrong_container, entry_not_a_mapping, bad_shift,
    bad_polygon, bad_location, zone_outside_grids, unknown_grid, uncovered_grid, duplicate_entry, bad_rule,
    bad_timezone, bad_url, bad_path, unset_variable, bad_grids_file, bad_escalation, bad_verification,
]


@st.composite
def broken_sites(draw: st.DrawFn, mutations: list[Mutation] = MUTATIONS) -> Broken:
    bundle = draw(valid_sites())
    bundle = replace(bundle, site=copy.deepcopy(bundle.site), grids=copy.deepcopy(bundle.grids))
    mutation = draw(st.sampled_from(mutations))
    field_regex, what = mutation(draw, bundle)
    return Broken(bundle, field_regex, f"{mutation.__name__}: {what}")


# --- junk -------------------------------------------------------------------------------------

SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.sampled_from([10**400, -(10**30)]),
                    st.floats(), st.text(max_size=20), st.dates(), st.binary(max_size=8))
JUNK = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.one_of(st.text(max_size=8), st.integers()), inner, max_size=4)),
    max_leaves=20)
SITE_KEYS = st.sampled_from(sorted(FIELD_NAMES))


def junk_documents() -> st.SearchStrategy[Any]:
    """Anything YAML holds: scalars, lists, mappings with the schema's keys and junk values."""
    return st.one_of(JUNK, st.dictionaries(SITE_KEYS, JUNK, max_size=8),
                     st.builds(lambda top, cams: top | {"cameras": cams}, st.dictionaries(SITE_KEYS, JUNK, max_size=4),
                               st.lists(st.dictionaries(SITE_KEYS, JUNK, max_size=6), max_size=3)))


# Nine levels of ten aliases each: a billion values when walked as a tree.
ALIAS_BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{level}: &{level} [{', '.join(['*' + below] * 10)}]\n"
    for below, level in zip("abcdefgh", "bcdefghi", strict=True))
JUNK_FILES = st.one_of(
    st.text(max_size=200), st.binary(max_size=200),
    st.sampled_from(["", "---\n", "~", "- a\n- b\n", "a: 1\n---\nb: 2\n", "a: [unclosed", "\ufeffgrids: x\n",
                     "a: " + "9" * 5000 + "\n", "a: " + "[" * 5000 + "]" * 5000 + "\n", "a: *undefined\n",
                     "? [1, 2]\n: x\n", "a: !!python/object:os.system x\n", "a: !!binary '@@'\n",
                     "&a [*a]\n", "a: &x [*x]\n", "cameras: &c [{id: x, zones: *c}]\n", "timezone: 2024-13-45\n",
                     "grids: ${" + UNSET + "}\n", "\t- tab\n", "a: b: c\n", "\x00", "\x85\u2028", ALIAS_BOMB]),
)

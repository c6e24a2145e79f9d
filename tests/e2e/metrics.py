"""Reading a live run's Prometheus metrics: the families aibrain/live/metrics.py declares, the ones served, and
the names the Grafana dashboard (deploy/grafana/aibrain.json) queries."""

from __future__ import annotations

import ast
import json
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from aibrain.live import metrics

_FAMILY_NAME = re.compile(r"aibrain_[a-z0-9_]+")
DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "aibrain.json"


def declared_families() -> set[str]:
    """Every metric family name aibrain/live/metrics.py spells out, read from its source, so a family added
    there is checked here without a change to this list."""
    assert metrics.__file__ is not None
    tree = ast.parse(Path(metrics.__file__).read_text(encoding="utf-8"))
    return {node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and _FAMILY_NAME.fullmatch(node.value)}


def served_families(text: str) -> dict[str, Metric]:
    """The families of an exposition, by name (a counter's name without `_total`)."""
    return {family.name: family for family in text_string_to_metric_families(text)}


def samples(family: Metric) -> Iterator[tuple[dict[str, str], float]]:
    """(labels, value) of the family's samples, `_created` timestamps left out."""
    for sample in family.samples:
        if not sample.name.endswith("_created"):
            yield sample.labels, sample.value


def assert_sane(families: dict[str, Metric]) -> None:
    """Every value a number; counters never negative."""
    for name, family in families.items():
        for labels, value in samples(family):
            assert math.isfinite(value), f"{name}{labels} = {value}"
            if family.type == "counter":
                assert value >= 0, f"counter {name}{labels} = {value}"


def value(families: dict[str, Metric], name: str, **labels: str) -> float:
    """The one sample of `name` with these labels."""
    [found] = [v for sample_labels, v in samples(families[name]) if sample_labels == labels]
    return found


def histogram_count(families: dict[str, Metric], name: str) -> float:
    """The number of observations of histogram `name` (its `_count`)."""
    [count] = [sample.value for sample in families[name].samples if sample.name == f"{name}_count"]
    return count


_SERIES_SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}


def series_names(families: dict[str, Metric]) -> set[str]:
    """Every series name served (`aibrain_incidents_total`, `aibrain_frame_age_seconds_bucket`, ...): what PromQL
    selects, where a family's name lacks the suffixes. A labelled family served without a sample yet (no feedback
    rejected) counts by its type's names."""
    return {sample.name for family in families.values() for sample in family.samples} | {
        name + suffix for name, family in families.items() for suffix in _SERIES_SUFFIXES.get(family.type, ())}


def load_dashboard() -> dict[str, Any]:
    dashboard: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return dashboard


def dashboard_panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, those inside a collapsed row included."""
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])


def dashboard_queries(dashboard: dict[str, Any]) -> list[str]:
    """Every PromQL expression the dashboard runs: its panels' targets and its query variables."""
    queries = [target["expr"] for panel in dashboard_panels(dashboard) for target in panel.get("targets", [])]
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            query = variable["query"]
            queries.append(query["query"] if isinstance(query, dict) else query)
    return queries


def queried_names(dashboard: dict[str, Any]) -> set[str]:
    """The aibrain series names the dashboard's expressions select."""
    return {name for query in dashboard_queries(dashboard) for name in _FAMILY_NAME.findall(query)}

"""Reading a live run's Prometheus metrics: the families aibrain/live/metrics.py declares, and the ones served."""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Iterator
from pathlib import Path

from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from aibrain.live import metrics

_FAMILY_NAME = re.compile(r"aibrain_[a-z0-9_]+")


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

"""The Grafana dashboard, deploy/grafana/aibrain.json: what Grafana needs to import it (panels with ids, places and
targets, the Prometheus data source as a variable), every series it queries is one aibrain/live/metrics.py serves,
and every family served has a panel. A live run's /metrics is checked against it in tests/e2e/test_closed_loop.py."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.e2e.metrics import dashboard_panels, dashboard_queries, declared_families, load_dashboard, queried_names

LATENCIES = ("aibrain_frame_age_seconds", "aibrain_inference_seconds", "aibrain_incident_commit_seconds",
             "aibrain_broker_confirm_seconds")
SUFFIXES = ("_total", "_bucket", "_sum", "_count")
GRID_WIDTH = 24  # Grafana's dashboard grid


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    return load_dashboard()


def family_of(series: str) -> str:
    for suffix in SUFFIXES:
        if series.endswith(suffix):
            return series.removesuffix(suffix)
    return series


def test_it_names_itself_and_takes_the_prometheus_data_source_as_a_variable(dashboard: dict[str, Any]) -> None:
    assert dashboard["title"] and re.fullmatch(r"[a-z0-9-]{1,40}", dashboard["uid"])
    assert isinstance(dashboard["schemaVersion"], int) and dashboard["time"]["from"].startswith("now-")
    [source] = [v for v in dashboard["templating"]["list"] if v["type"] == "datasource"]
    assert source["query"] == "prometheus"
    uses = [p["datasource"] for p in dashboard_panels(dashboard) if p["type"] != "row"]
    uses += [t["datasource"] for p in dashboard_panels(dashboard) for t in p.get("targets", [])]
    uses += [v["datasource"] for v in dashboard["templating"]["list"] if v["type"] == "query"]
    assert uses and all(use == {"type": "prometheus", "uid": f"${{{source['name']}}}"} for use in uses), uses


def test_every_panel_has_an_id_a_place_of_its_own_and_queries(dashboard: dict[str, Any]) -> None:
    panels = list(dashboard_panels(dashboard))
    ids = [panel["id"] for panel in panels]
    assert len(set(ids)) == len(ids) and all(isinstance(i, int) for i in ids)
    taken: set[tuple[int, int]] = set()
    for panel in panels:
        place = panel["gridPos"]
        assert place["w"] > 0 and place["h"] > 0 and place["x"] >= 0 and place["x"] + place["w"] <= GRID_WIDTH
        cells = {(x, y) for x in range(place["x"], place["x"] + place["w"])
                 for y in range(place["y"], place["y"] + place["h"])}
        assert not cells & taken, f"panel {panel['title']!r} overlaps another"
        taken |= cells
        if panel["type"] == "row":
            continue
        assert panel["type"] in {"timeseries", "stat"} and panel["title"] and panel["description"]
        ref_ids = [target["refId"] for target in panel["targets"]]
        assert ref_ids and len(set(ref_ids)) == len(ref_ids), panel["title"]


def test_every_expression_is_balanced(dashboard: dict[str, Any]) -> None:
    pairs = {")": "(", "]": "[", "}": "{"}
    for query in dashboard_queries(dashboard):
        open_brackets: list[str] = []
        for char in re.sub(r'"[^"]*"', '""', query):  # brackets inside label values do not count
            if char in "([{":
                open_brackets.append(char)
            elif char in pairs:
                assert open_brackets and open_brackets.pop() == pairs[char], query
        assert not open_brackets, query


def test_every_series_queried_is_served_and_every_family_served_is_queried(dashboard: dict[str, Any]) -> None:
    declared, queried = declared_families(), queried_names(dashboard)
    assert {family_of(series) for series in queried} == declared, "a series queried but not served, or a " \
        "family served without a panel"
    histogram_series = {series for series in queried if series.endswith(("_bucket", "_sum", "_count"))}
    assert {family_of(series) for series in histogram_series} <= set(LATENCIES)


@pytest.mark.parametrize("latency", LATENCIES)
def test_each_latency_has_its_p50_and_p95_panel(dashboard: dict[str, Any], latency: str) -> None:
    quantiles = {float(q) for query in dashboard_queries(dashboard)
                 for q in re.findall(rf"histogram_quantile\(([0-9.]+), sum by \(le\) \(rate\({latency}_bucket\{{"
                                     r'instance=~"\$instance"\}\[5m\]\)\)\)', query)}
    assert quantiles == {0.5, 0.95}

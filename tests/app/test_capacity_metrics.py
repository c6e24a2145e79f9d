"""The capacity series aibrain/live/metrics.py serves: CPU seconds per pipeline stage (common/stage_cpu.py) and
keyframes skipped per camera; scripts/bench_capacity.py and the Grafana dashboard read them by these names."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from aibrain.live.metrics import stage_cpu_family
from common.stage_cpu import STAGE_CPU, Stage, stage_cpu
from tests.e2e.metrics import samples, served_families


class _Stages(Collector):
    def collect(self) -> list[CounterMetricFamily]:
        return [stage_cpu_family()]


def test_every_stage_is_served_with_its_seconds_so_far() -> None:
    with stage_cpu(Stage.TRACKING_RULES):
        sum(range(200_000))
    registry = CollectorRegistry()
    registry.register(_Stages())
    family = served_families(generate_latest(registry).decode())["aibrain_stage_cpu_seconds"]
    served = {labels["stage"]: value for labels, value in samples(family)}
    assert family.type == "counter" and set(served) == {stage.value for stage in Stage}
    assert served["tracking_rules"] > 0
    assert served["tracking_rules"] <= STAGE_CPU.totals()[Stage.TRACKING_RULES]  # read at scrape time

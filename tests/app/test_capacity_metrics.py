"""The capacity series aibrain/live/metrics.py serves: CPU seconds per pipeline stage (common/stage_cpu.py: summed
over threads, nested stages not counted twice) and keyframes skipped per camera; scripts/bench_capacity.py and the
Grafana dashboard read them by these names."""

from __future__ import annotations

import threading
import time

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from aibrain.live.metrics import stage_cpu_family
from common.stage_cpu import STAGE_CPU, Stage, StageCpu, stage_cpu
from tests.e2e.metrics import samples, served_families


def busy(seconds: float) -> float:
    """Spin for `seconds` of this thread's CPU; the thread CPU it took."""
    started = time.thread_time()
    while time.thread_time() - started < seconds:
        pass
    return time.thread_time() - started


def test_each_threads_cpu_adds_to_its_stage() -> None:
    cpu, spent = StageCpu(), []

    def work() -> None:
        with cpu.measure(Stage.DECODE):
            spent.append(busy(0.03))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    totals = cpu.totals()
    assert totals[Stage.DECODE] == pytest.approx(sum(spent), abs=0.01) and totals[Stage.DECODE] >= 0.12
    assert all(seconds == 0 for stage, seconds in totals.items() if stage is not Stage.DECODE)


def test_a_stage_inside_another_pauses_it() -> None:
    cpu = StageCpu()
    started = time.thread_time()
    with cpu.measure(Stage.TRACKING_RULES):
        busy(0.02)
        with pytest.raises(RuntimeError), cpu.measure(Stage.EVIDENCE):  # counted even when it fails
            inner = busy(0.03)
            raise RuntimeError("disk full")
        busy(0.02)
    whole = time.thread_time() - started
    totals = cpu.totals()
    assert totals[Stage.EVIDENCE] == pytest.approx(inner, abs=0.005)
    assert totals[Stage.TRACKING_RULES] + totals[Stage.EVIDENCE] == pytest.approx(whole, abs=0.005)


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

"""scripts/lib/capacity_math.py, the capacity bench's arithmetic, on two /metrics scrapes recorded 30.03 s apart from
`aibrain run` watching 12 RTSP cameras (capacity_snapshots/*.prom, with the CPU seconds read beside them), and on
made-up step results for the search."""

from __future__ import annotations

from pathlib import Path

import pytest

from scripts.lib.capacity_math import (
    STAGES,
    CapacitySearch,
    Reading,
    Window,
    metrics_reading,
    saturation_cameras,
    spread,
    window,
)

SNAPSHOTS = Path(__file__).resolve().parent / "capacity_snapshots"
SECONDS = 30.028367656
# (the run's process, the RTSP server, the whole machine) CPU seconds at each scrape
FIRST_CPU, LAST_CPU = (10.08, 0.72, 1055.92), (40.27, 2.94, 1115.84)


def recorded(name: str, at_s: float, cpu: tuple[float, float, float]) -> Reading:
    return metrics_reading((SNAPSHOTS / name).read_text(encoding="utf-8"), at_s, *cpu)


@pytest.fixture
def recorded_window() -> Window:
    return window(recorded("first.prom", 100.0, FIRST_CPU), recorded("last.prom", 100.0 + SECONDS, LAST_CPU),
                  cameras=12, detect_fps=1.0, cores=2)


def test_a_scrape_gives_each_cameras_counters_and_each_stages_cpu() -> None:
    reading = recorded("last.prom", 0.0, LAST_CPU)
    assert sorted(reading.detected) == [f"cam{k:02d}" for k in range(1, 13)]
    assert reading.detected["cam01"] == 38 and reading.skipped["cam02"] == 4 and reading.dropped["cam12"] == 0
    assert set(reading.stage_cpu_s) == set(STAGES) and reading.stage_cpu_s["decode"] == pytest.approx(6.8558716)
    assert reading.process_cpu_s == 40.27


def test_the_window_counts_what_grew_between_the_scrapes(recorded_window: Window) -> None:
    w = recorded_window
    assert w.seconds == pytest.approx(SECONDS)
    assert w.detected == 441 - 87 and w.skipped == 35 and w.dropped == 0
    assert sorted(set(w.frames.values())) == [29, 30]
    assert w.process_cpu_s == pytest.approx(30.19) and w.server_cpu_s == pytest.approx(2.22)
    assert w.others_cpu_s == pytest.approx(59.92 - 30.19 - 2.22)


def test_sustained_is_95_percent_of_the_offered_frames(recorded_window: Window) -> None:
    assert recorded_window.offered == pytest.approx(12 * SECONDS)
    assert recorded_window.sustained_ratio == pytest.approx(354 / (12 * SECONDS))  # 0.982
    assert recorded_window.sustained
    short = window(Reading(0.0, {"a": 0, "b": 0}), Reading(10.0, {"a": 10, "b": 9}), 2, 1.0, 2)
    assert short.sustained_ratio == 0.95 and short.sustained
    assert not window(Reading(0.0, {"a": 0, "b": 0}), Reading(10.0, {"a": 10, "b": 8}), 2, 1.0, 2).sustained
    # Half a frame a second each: 10 s offer 5 frames a camera.
    assert window(Reading(0.0, {"a": 0}), Reading(10.0, {"a": 5}), 1, 0.5, 2).sustained_ratio == 1.0


def test_cpu_per_frame_by_stage_and_what_no_stage_saw(recorded_window: Window) -> None:
    ms = recorded_window.stage_ms()
    assert list(ms) == [*STAGES, "unattributed"]
    assert ms["decode"] == pytest.approx((6.855871596 - 1.680009462) / 354 * 1000)  # 14.6 ms
    assert ms["evidence"] == 0 and ms["storage"] == 0
    assert sum(ms.values()) == pytest.approx(30.19 / 354 * 1000)  # the process's 85.3 ms a frame, all told


def test_the_ceiling_is_the_cores_left_by_the_cameras_over_the_cpu_per_frame(recorded_window: Window) -> None:
    w = recorded_window
    assert w.pipeline_cores == pytest.approx(2 - 2.22 / SECONDS)
    assert w.ceiling_fps == pytest.approx(w.pipeline_cores / (30.19 / 354))
    # Frames a second over the ceiling is the share of the cores left that the run kept busy.
    assert w.of_ceiling == pytest.approx((30.19 / SECONDS) / w.pipeline_cores)
    # Against the cores other processes left it (59.92 - 30.19 - 2.22 CPU s of them), the run kept this share busy:
    assert w.of_cores_got == pytest.approx(30.19 / (2 * SECONDS - 2.22 - 27.51))
    made_up = Window(20, 1.0, 10.0, {"a": 100}, 0, 0, {}, process_cpu_s=2.0, server_cpu_s=0.5, others_cpu_s=0.0,
                     cores=2)
    assert made_up.cpu_per_frame_s == 0.02 and made_up.ceiling_fps == pytest.approx(1.95 / 0.02)
    assert made_up.of_ceiling == pytest.approx(10 / 97.5)


def test_fairness_is_every_camera_within_20_percent_of_the_mean(recorded_window: Window) -> None:
    s = recorded_window.spread
    assert (s.least, s.most) == (29, 30) and s.mean == pytest.approx(354 / 12) and s.fair
    assert spread([44, 50, 60, 66]).fair  # -20 % / +20 %: just within
    over = spread([43, 55, 67])  # -22 % / +22 %
    assert round(over.below, 2) == -0.22 and round(over.above, 2) == 0.22 and not over.fair
    base = spread([14, 53, 29])  # the plan's base run: -56 % / +66 %
    assert base.below < -0.5 and not base.fair
    assert not spread([0, 0]).fair


def search(limit: int, **settings: float) -> tuple[list[int], int]:
    """The cameras a search tries, in order, when everything up to `limit` is sustained; and the limit it finds."""
    capacity = CapacitySearch(**settings)  # type: ignore[arg-type]
    tried = []
    while (cameras := capacity.next()) is not None:
        tried.append(cameras)
        capacity.record(cameras, cameras <= limit)
    return tried, capacity.limit


def test_the_search_steps_up_by_half_then_bisects_to_one_camera() -> None:
    assert search(17, start=8) == ([8, 12, 18, 15, 16, 17], 17)
    assert search(13, start=8) == ([8, 12, 18, 15, 13, 14], 13)


def test_a_start_that_is_too_many_bisects_down() -> None:
    assert search(5, start=8) == ([8, 4, 6, 5], 5)
    assert search(0, start=8) == ([8, 4, 2, 1], 0)


def test_the_search_stops_at_the_most_cameras_allowed() -> None:
    assert search(1000, start=8, max_cameras=20) == ([8, 12, 18, 20], 20)


def test_bisection_stops_within_the_resolution_of_a_large_limit() -> None:
    tried, limit = search(47, start=40, resolution=0.05)  # within 2 cameras at 40
    assert tried[:2] == [40, 60] and limit in (45, 46, 47) and len(tried) <= 6


def test_a_noisy_failure_below_a_sustained_step_is_outvoted() -> None:
    capacity = CapacitySearch(start=8)
    for cameras, ok in ((8, True), (12, True), (18, False), (15, False), (13, True)):
        capacity.record(cameras, ok)
    capacity.record(10, False)  # noise: 12 and 13 were sustained
    assert capacity.limit == 13 and capacity.short == 15 and capacity.next() == 14


def test_saturation_takes_a_run_far_enough_above_the_limit_or_asks_for_one() -> None:
    assert saturation_cameras(17, [18]) == 26  # 18 is barely over: run 1.5x
    assert saturation_cameras(17, [18, 27]) == 27  # already measured at >= 1.25x
    assert saturation_cameras(0, []) == 1

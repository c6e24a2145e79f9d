"""The latency histograms: common.durations.DurationHistogram's buckets and thread safety, how
aibrain/live/metrics.py serves one, and the inference loop filling its two (frame age, batch time)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import numpy as np
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import HistogramMetricFamily
from prometheus_client.registry import Collector

from aibrain.live.metrics import histogram_family
from common.durations import DurationHistogram, HistogramSnapshot
from detector.backends.onnx_backend import OnnxBackend
from detector.inference_loop import FRAME_AGE_BOUNDS_S, CameraDetectorState, InferenceLoop
from streams.frame import Frame
from streams.mailbox import LatestFrameSlots
from tests.detector.conftest import onnx_backend, still_image  # noqa: F401  (fixtures, used below)
from tests.detector.test_inference_loop import camera_state
from tests.e2e.metrics import served_families

T0 = 1_700_000_000.0


def test_each_duration_counts_in_the_first_bucket_whose_bound_holds_it() -> None:
    histogram = DurationHistogram((0.01, 0.1, 1.0))
    for seconds in (0.0, 0.01, 0.0100001, 0.1, 0.5, 1.0, 7.0, -0.25):  # a bound holds its own value (`le`)
        histogram.observe(seconds)
    snapshot = histogram.snapshot()
    assert (snapshot.bounds, snapshot.cumulative, snapshot.count) == ((0.01, 0.1, 1.0), (3, 5, 7), 8)
    assert snapshot.sum_s == pytest.approx(0.0 + 0.01 + 0.0100001 + 0.1 + 0.5 + 1 + 7)  # the negative one as 0


def test_an_empty_histogram_has_zero_everywhere() -> None:
    assert DurationHistogram((0.5,)).snapshot() == HistogramSnapshot((0.5,), (0,), 0, 0.0)


@pytest.mark.parametrize("bounds", [(), (0.1, 0.1), (1.0, 0.5), (0.0, 1.0), (0.1, float("inf")), (float("nan"),)])
def test_bounds_must_be_finite_positive_and_increasing(bounds: tuple[float, ...]) -> None:
    with pytest.raises(ValueError, match="strictly increasing"):
        DurationHistogram(bounds)


def test_concurrent_observations_are_all_counted_and_every_snapshot_is_consistent() -> None:
    """Eight threads observe while a ninth takes snapshots: no observation is lost, and no snapshot ever
    shows a bucket count above a later bound's or above the total."""
    histogram = DurationHistogram((0.5, 1.0))
    writers, each = 8, 20_000
    values = (0.25, 0.75, 2.0)  # one per bucket, exact in binary so the sum is exact too
    start, done = threading.Barrier(writers + 1), threading.Event()
    torn: list[HistogramSnapshot] = []

    def write() -> None:
        start.wait()
        for i in range(each):
            histogram.observe(values[i % 3])

    def read() -> None:
        start.wait()
        while not done.is_set():
            snapshot = histogram.snapshot()
            if not snapshot.cumulative[0] <= snapshot.cumulative[1] <= snapshot.count:
                torn.append(snapshot)

    threads = [threading.Thread(target=write) for _ in range(writers)]
    reader = threading.Thread(target=read)
    for thread in (*threads, reader):
        thread.start()
    for thread in threads:
        thread.join()
    done.set()
    reader.join()
    per_value = [sum(1 for i in range(each) if i % 3 == k) * writers for k in range(3)]
    final = histogram.snapshot()
    assert final.count == writers * each and torn == []
    assert final.cumulative == (per_value[0], per_value[0] + per_value[1])
    assert final.sum_s == sum(v * n for v, n in zip(values, per_value, strict=True))


class _One(Collector):
    def __init__(self, family: HistogramMetricFamily) -> None:
        self.family = family

    def collect(self) -> Iterator[HistogramMetricFamily]:
        yield self.family


def test_served_as_a_prometheus_histogram_with_cumulative_buckets_sum_and_count() -> None:
    histogram = DurationHistogram((0.005, 0.25, 2.5))
    for seconds in (0.001, 0.2, 0.2, 10.0):
        histogram.observe(seconds)
    registry = CollectorRegistry()
    registry.register(_One(histogram_family("aibrain_test_seconds", "a test", histogram)))
    text = generate_latest(registry).decode()
    family = served_families(text)["aibrain_test_seconds"]
    assert family.type == "histogram"
    served = {(s.name.removeprefix("aibrain_test_seconds"), s.labels.get("le")): s.value for s in family.samples}
    assert served == {("_bucket", "0.005"): 1, ("_bucket", "0.25"): 3, ("_bucket", "2.5"): 3, ("_bucket", "+Inf"): 4,
                      ("_count", None): 4, ("_sum", None): pytest.approx(10.401)}


def test_the_inference_loop_times_each_frames_age_and_each_batch(onnx_backend: OnnxBackend,  # noqa: F811
                                                                  still_image: np.ndarray) -> None:  # noqa: F811
    """Frames captured 0.3 s and 4 s before the loop's clock: one in each of those buckets; one batch timed."""
    states: dict[str, CameraDetectorState] = {c: camera_state(c, onnx_backend.class_names) for c in ("a", "b")}
    loop = InferenceLoop(onnx_backend, LatestFrameSlots(), states, lambda v, f: None, threading.Event(),
                         clock=lambda: T0 + 10.0)
    loop.process_batch([Frame("a", 0, T0 + 9.7, 0.0, still_image, True),
                        Frame("b", 0, T0 + 6.0, 0.0, still_image, True)])
    ages = loop.stats.frame_age.snapshot()
    per_bucket = dict(zip(FRAME_AGE_BOUNDS_S, np.diff((0, *ages.cumulative)), strict=True))
    assert ages.count == 2 and ages.sum_s == pytest.approx(4.3)
    assert per_bucket[0.5] == 1 and per_bucket[5.0] == 1 and sum(per_bucket.values()) == 2
    batches = loop.stats.batch_inference.snapshot()
    assert batches.count == 1 and batches.sum_s == pytest.approx(loop.stats.inference_s) and batches.sum_s > 0

"""The capacity bench's arithmetic, apart from the runs that feed it (scripts/bench_capacity.py): two readings of a
run's counters T seconds apart become a `Window` (frames per camera, CPU per stage), which says whether the cameras
were sustained, how fair the detector was to them, and how close the run came to the ceiling its own per-frame
costs allow. `CapacitySearch` picks the next number of cameras to try: up in steps, then a bisection.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families

SUSTAINED = 0.95  # the bar: this share of the offered frames detected
FAIR = 0.20  # under overload every camera within this of the mean
STAGES = ("decode", "conversion", "preprocess", "inference", "postprocess", "tracking_rules", "evidence",
          "storage")  # common/stage_cpu.py's Stage values, in pipeline order


@dataclass(frozen=True)
class Reading:
    """One look at a run: its cumulative counters, and the CPU seconds so far of the processes involved."""

    at_s: float  # monotonic time of the reading
    detected: Mapping[str, float]  # camera -> frames through the detector so far
    skipped: Mapping[str, float] = field(default_factory=dict)  # camera -> keyframes left undecoded
    dropped: Mapping[str, float] = field(default_factory=dict)  # camera -> frames replaced in the mailbox
    stage_cpu_s: Mapping[str, float] = field(default_factory=dict)  # stage -> thread CPU seconds
    process_cpu_s: float = 0.0  # the run's process, every thread
    server_cpu_s: float = 0.0  # the RTSP server standing in for the cameras
    machine_busy_s: float = 0.0  # every CPU of the machine, whoever used it


def metrics_reading(text: str, at_s: float, process_cpu_s: float, server_cpu_s: float,
                    machine_busy_s: float) -> Reading:
    """A Reading from a live run's /metrics exposition (aibrain/live/metrics.py) and the CPU figures taken with it."""
    by_label: dict[str, dict[str, float]] = {"aibrain_frames_detected": {}, "aibrain_frames_skipped": {},
                                              "aibrain_frames_dropped": {}, "aibrain_stage_cpu_seconds": {}}
    for family in text_string_to_metric_families(text):
        values = by_label.get(family.name)
        if values is None:
            continue
        for sample in family.samples:
            if sample.name.endswith("_total"):
                values[sample.labels.get("camera") or sample.labels["stage"]] = sample.value
    return Reading(at_s, by_label["aibrain_frames_detected"], by_label["aibrain_frames_skipped"],
                   by_label["aibrain_frames_dropped"], by_label["aibrain_stage_cpu_seconds"], process_cpu_s,
                   server_cpu_s, machine_busy_s)


@dataclass(frozen=True)
class Spread:
    """Frames per camera in a window: the least, the most, the mean, and the worst deviations from the mean."""

    least: float
    most: float
    mean: float

    @property
    def below(self) -> float:
        """How far the least served camera is under the mean (negative: -0.2 is 20 % under)."""
        return self.least / self.mean - 1 if self.mean else 0.0

    @property
    def above(self) -> float:
        return self.most / self.mean - 1 if self.mean else 0.0

    @property
    def fair(self) -> bool:
        return self.mean > 0 and max(-self.below, self.above) <= FAIR


def spread(frames: Iterable[float]) -> Spread:
    """The spread of frames per camera.

    >>> s = spread([8, 10, 12]); (round(s.below, 2), round(s.above, 2), s.fair)
    (-0.2, 0.2, True)
    """
    counts = list(frames)
    return Spread(min(counts), max(counts), sum(counts) / len(counts))


@dataclass(frozen=True)
class Window:
    """What happened between two readings of a run with `cameras` cameras each offered `detect_fps` frames a second."""

    cameras: int
    detect_fps: float
    seconds: float
    frames: Mapping[str, float]  # camera -> frames detected in the window
    skipped: float
    dropped: float
    stage_cpu_s: Mapping[str, float]
    process_cpu_s: float
    server_cpu_s: float
    others_cpu_s: float  # the rest of the machine: other processes (noise), this bench itself
    cores: int

    @property
    def detected(self) -> float:
        return sum(self.frames.values())

    @property
    def fps(self) -> float:
        return self.detected / self.seconds

    @property
    def offered(self) -> float:
        return self.cameras * self.detect_fps * self.seconds

    @property
    def sustained_ratio(self) -> float:
        """Frames detected over frames offered: the cameras are sustained at SUSTAINED or more."""
        return self.detected / self.offered

    @property
    def sustained(self) -> bool:
        return self.sustained_ratio >= SUSTAINED

    @property
    def spread(self) -> Spread:
        return spread(self.frames.values())

    def cores_used(self, cpu_s: float) -> float:
        return cpu_s / self.seconds

    @property
    def cpu_per_frame_s(self) -> float:
        """The run's whole process CPU over the frames it detected: what a frame costs, every thread included."""
        return self.process_cpu_s / self.detected if self.detected else math.inf

    def stage_ms(self) -> dict[str, float]:
        """CPU ms per frame detected of each stage, then `unattributed`: the process's CPU no stage saw (the model's
        own threads, demuxing, queues, the metrics; with the null detector, all but the model's)."""
        if not self.detected:
            return {}
        per_frame = {stage: 1000 * self.stage_cpu_s.get(stage, 0.0) / self.detected for stage in STAGES}
        per_frame["unattributed"] = 1000 * self.cpu_per_frame_s - sum(per_frame.values())
        return per_frame

    @property
    def pipeline_cores(self) -> float:
        """The cores left to the run: all of them but what the RTSP server (the cameras' stand-in) used."""
        return self.cores - self.cores_used(self.server_cpu_s)

    @property
    def ceiling_fps(self) -> float:
        """Frames a second the run could detect if it kept every core left to it busy at its own per-frame cost."""
        return self.pipeline_cores / self.cpu_per_frame_s

    @property
    def of_ceiling(self) -> float:
        """Detected frames a second over the ceiling (the issue's goal at saturation: >= 0.95)."""
        return self.fps / self.ceiling_fps if self.ceiling_fps else 0.0

    @property
    def of_cores_got(self) -> float:
        """The share of the cores other processes left it that the run kept busy: on a shared machine, where
        `of_ceiling` counts their CPU as the run's loss, this says whether the run itself left cores idle."""
        free = self.pipeline_cores - self.cores_used(self.others_cpu_s)
        return self.cores_used(self.process_cpu_s) / free if free > 0 else 0.0


def window(first: Reading, last: Reading, cameras: int, detect_fps: float, cores: int) -> Window:
    """The window between two readings of one run (counters growing; a camera absent at first counts from 0)."""
    def grown(before: Mapping[str, float], after: Mapping[str, float]) -> dict[str, float]:
        return {key: value - before.get(key, 0.0) for key, value in after.items()}

    process = last.process_cpu_s - first.process_cpu_s
    server = last.server_cpu_s - first.server_cpu_s
    others = max(0.0, last.machine_busy_s - first.machine_busy_s - process - server)
    return Window(cameras, detect_fps, last.at_s - first.at_s, grown(first.detected, last.detected),
                  sum(grown(first.skipped, last.skipped).values()), sum(grown(first.dropped, last.dropped).values()),
                  grown(first.stage_cpu_s, last.stage_cpu_s), process, server, others, cores)


@dataclass
class CapacitySearch:
    """The most cameras sustained: up from `start` by `growth` until a run falls short, then bisecting between the
    most sustained and the fewest not, until they are `resolution` of the limit apart (at least one camera).
    A noisy run that fails below a sustained one is outvoted by it: the limit is the most cameras sustained.

    >>> search = CapacitySearch(start=8)
    >>> for cameras in iter(search.next, None):
    ...     search.record(cameras, cameras <= 17)
    >>> sorted(search.results), search.limit
    ([8, 12, 15, 16, 17, 18], 17)
    """

    start: int
    growth: float = 1.5
    max_cameras: int = 64
    resolution: float = 0.05
    results: dict[int, bool] = field(default_factory=dict)  # cameras -> sustained

    def record(self, cameras: int, sustained: bool) -> None:
        self.results[cameras] = sustained

    @property
    def limit(self) -> int:
        """The most cameras sustained so far; 0 when none were."""
        return max((cameras for cameras, ok in self.results.items() if ok), default=0)

    @property
    def short(self) -> int | None:
        """The fewest cameras above the limit that were not sustained; None while none was."""
        return min((cameras for cameras, ok in self.results.items() if not ok and cameras > self.limit), default=None)

    def next(self) -> int | None:
        """Cameras to try next; None when the search is done."""
        if not self.results:
            return min(self.start, self.max_cameras)
        low, high = self.limit, self.short
        if high is None:  # all sustained so far: step up
            up = max(low + 1, math.ceil(low * self.growth))
            return None if low >= self.max_cameras else min(self.max_cameras, up)
        if high - low <= max(1, math.floor(low * self.resolution)):
            return None
        return (low + high) // 2


def saturation_cameras(limit: int, measured: Iterable[int], overload: float = 1.5, enough: float = 1.25) -> int:
    """Cameras for the saturation figures (frames/s against the ceiling, fairness): a run already measured at
    `enough` times the limit or more if there is one (the most cameras of them), else `overload` times it."""
    over = [cameras for cameras in measured if cameras >= max(limit + 1, math.ceil(limit * enough))]
    return max(over) if over else max(limit + 1, math.ceil(limit * overload))

"""CPU time per pipeline stage, summed over every thread of the process: where a frame's CPU goes.

The stages wrap their work in `stage_cpu(Stage.DECODE)` and so on; the app serves the totals at scrape time
(`aibrain_stage_cpu_seconds_total{stage}`) and scripts/bench_capacity.py divides their growth by the frames
detected. Thread CPU time (`time.thread_time`), not wall time: a thread waiting on a lock or pre-empted by
another costs nothing here. Stages do not double count: entering a stage inside another pauses the outer one
on this thread until the inner one ends. Work that runs on threads the process does not own (ONNX Runtime's
intra-op pool) is not seen by any stage; it is the process's CPU less the stages' sum.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from enum import StrEnum


class Stage(StrEnum):
    DECODE = "decode"  # the packet decoder (reader threads)
    CONVERSION = "conversion"  # decoder picture -> BGR arrays: the detector's and, for evidence, the full size
    PREPROCESS = "preprocess"  # letterbox into the model's input tensor
    INFERENCE = "inference"  # the caller's share of the model's run (its own threads are not seen)
    POSTPROCESS = "postprocess"  # raw output -> boxes, NMS
    TRACKING_RULES = "tracking_rules"  # tracker, rule engine, verifier
    EVIDENCE = "evidence"  # snapshots, clean frames and sidecars written
    STORAGE = "storage"  # violations into the database and outbox, published to the broker


@dataclass(slots=True)
class _Open:
    stage: Stage
    since: float  # thread CPU time when it started or last resumed


class StageCpu:
    """Totals of thread CPU seconds per stage, safe across threads.

    >>> cpu = StageCpu()
    >>> with cpu.measure(Stage.DECODE):
    ...     with cpu.measure(Stage.CONVERSION):
    ...         _ = sum(range(10_000))
    >>> sorted(cpu.totals()) == sorted(Stage) and cpu.totals()[Stage.CONVERSION] > 0
    True
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._totals = dict.fromkeys(Stage, 0.0)
        self._local = threading.local()  # .stack: this thread's open stages, innermost last

    @contextmanager
    def measure(self, stage: Stage) -> Iterator[None]:
        stack: list[_Open] = self._local.__dict__.setdefault("stack", [])
        now = time.thread_time()
        if stack:  # pause the enclosing stage
            self._add(stack[-1].stage, now - stack[-1].since)
        stack.append(_Open(stage, now))
        try:
            yield
        finally:
            now = time.thread_time()
            inner = stack.pop()
            self._add(inner.stage, now - inner.since)
            if stack:
                stack[-1].since = now  # the enclosing stage resumes

    def _add(self, stage: Stage, seconds: float) -> None:
        with self._lock:
            self._totals[stage] += seconds

    def totals(self) -> dict[Stage, float]:
        """Seconds per stage since the process started, every stage present."""
        with self._lock:
            return dict(self._totals)


STAGE_CPU = StageCpu()  # the process's: stages add to it wherever they run


def stage_cpu(stage: Stage) -> AbstractContextManager[None]:
    """Count the CPU this thread spends in the `with` block towards `stage` (the process-wide totals)."""
    return STAGE_CPU.measure(stage)

"""Prometheus metrics of a live run, read from the roles' own counters at scrape time (the stages
keep plain stats; only this module and aibrain.live.status_server, which serves it, know Prometheus).

The latencies are histograms the stages fill as common.durations.DurationHistogram; each is served
with its own buckets (see the stages' *_BOUNDS_S) and no labels, so a node with a thousand cameras
serves four histograms, not four thousand."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict
from typing import Protocol

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString
from sqlalchemy.orm import Session, sessionmaker

from aibrain.live.supervisor import RoleState, Supervisor
from aibrain.live.verifier_role import VerificationCoordinator
from common.durations import DurationHistogram
from common.stage_cpu import STAGE_CPU
from detector.inference_loop import InferenceLoop
from detector.main_evidence import MainEvidence
from routing.broker.feedback_consumer import FeedbackConsumer
from routing.broker.relay import OutboxRelay
from routing.incidents.deadline_watcher import DeadlineWatcher
from routing.incidents.intake import RoutingIntake
from streams.health import CameraState
from streams.mailbox import LatestFrameSlots
from streams.source import CameraReader


class RunView(Protocol):
    """What the metrics and the status server read of a live run; aibrain.live.live_run.LiveRun is one
    (named here, not imported, so that the run can import the server that reports on it)."""

    sessions: sessionmaker[Session]
    slots: LatestFrameSlots
    readers: list[CameraReader]
    inference: InferenceLoop
    intake: RoutingIntake
    relay: OutboxRelay | None
    feedback: FeedbackConsumer | None
    watcher: DeadlineWatcher
    verification: VerificationCoordinator
    supervisor: Supervisor
    main_evidence: MainEvidence

    def unsent_messages(self) -> int: ...


class LiveRunCollector(Collector):
    def __init__(self, run: RunView) -> None:
        self.run = run

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily | HistogramMetricFamily]:
        run = self.run
        frames = CounterMetricFamily("aibrain_frames_detected", "frames through the detector", labels=["camera"])
        dropped = CounterMetricFamily("aibrain_frames_dropped", "frames replaced in the mailbox before detection",
                                      labels=["camera"])
        skipped = CounterMetricFamily("aibrain_frames_skipped", "keyframes left undecoded while the camera's last "
                                      "frame still waited for the detector (not dropped: nothing was spent on them)",
                                      labels=["camera"])
        online = GaugeMetricFamily("aibrain_camera_online", "1 while the camera delivers frames", labels=["camera"])
        unusable = CounterMetricFamily("aibrain_frames_unusable", "decoded pictures kept from the detector",
                                       labels=["camera", "reason"])
        no_snapshot = CounterMetricFamily("aibrain_evidence_failures",
                                          "violations handed on without their snapshot (evidence write failed)",
                                          labels=["camera"])
        for reader in run.readers:
            camera = reader.settings.camera_id
            for reason, count in asdict(reader.stats().dropped).items():
                unusable.add_metric([camera, reason], count)
            camera_stats = run.inference.stats.cameras.get(camera)
            frames.add_metric([camera], camera_stats.frames if camera_stats else 0)
            no_snapshot.add_metric([camera], camera_stats.evidence_failures if camera_stats else 0)
            dropped.add_metric([camera], run.slots.dropped(camera))
            skipped.add_metric([camera], reader.stats().frames_skipped)
            online.add_metric([camera], 1.0 if reader.stats().state is CameraState.ONLINE else 0.0)
        yield from (frames, dropped, skipped, online, unusable, no_snapshot, main_stream_evidence(run.main_evidence))
        yield stage_cpu_family()
        alive = GaugeMetricFamily("aibrain_role_alive", "1 while the role's thread runs (or finished by itself)",
                                  labels=["role"])
        restarts = CounterMetricFamily("aibrain_role_restarts", "role threads started again after a crash",
                                       labels=["role"])
        for role, state in run.supervisor.states().items():
            alive.add_metric([role], 0.0 if state is RoleState.RESTARTING else 1.0)
        for role, count in run.supervisor.restarts().items():
            restarts.add_metric([role], count)
        yield from (alive, restarts)
        yield histogram_family("aibrain_frame_age_seconds", "a frame's age when the detector takes it: from "
                               "its picture decoded and handed on by the camera's reader (a live frame's ts) to the "
                               "start of its batch's inference", run.inference.stats.frame_age)
        yield histogram_family("aibrain_inference_seconds", "time of one batch inside the detector's backend",
                               run.inference.stats.batch_inference)
        yield histogram_family("aibrain_incident_commit_seconds", "a violation confirmed by its rule to its "
                               "incident committed in the database", run.intake.stats.commit_latency)
        yield _counter("aibrain_incidents", "incidents stored", run.intake.stats.incidents)
        yield _counter("aibrain_store_retries", "database writes retried", run.intake.stats.write_retries)
        yield _counter("aibrain_intake_parked", "violations and camera events the database refused as data, "
                       "kept in the parked file", run.intake.stats.parked)
        yield _counter("aibrain_intake_replayed", "items read back from the spool at start",
                       run.intake.stats.replayed)
        yield _counter("aibrain_escalations", "escalations for missed limits", run.watcher.escalations)
        yield _counter("aibrain_verifications", "verification verdicts recorded", run.verification.recorded)
        yield _gauge("aibrain_outbox_unsent", "outbox messages waiting for the broker", run.unsent_messages)
        if run.relay is not None:
            yield _counter("aibrain_messages_published", "messages confirmed by the broker", run.relay.published)
            yield _counter("aibrain_queues_recreated", "destination queues found deleted and declared again",
                           run.relay.queues_recreated)
            yield histogram_family("aibrain_broker_confirm_seconds", "an outbox message committed to the "
                                   "broker's publisher confirm", run.relay.confirm_latency)
        if run.feedback is not None:
            feedback = run.feedback.stats
            outcomes = CounterMetricFamily("aibrain_feedback_messages", "feedback messages by outcome",
                                           labels=["outcome"])
            for outcome, count in feedback.outcomes.items():
                outcomes.add_metric([outcome], count)
            rejected = CounterMetricFamily("aibrain_feedback_rejected",
                                           "feedback sent to the dead-letter exchange, by reason", labels=["reason"])
            for reason, count in feedback.rejected.items():
                rejected.add_metric([reason], count)
            yield from (outcomes, rejected)
            yield _counter("aibrain_feedback_requeued", "feedback deliveries that crashed the consumer",
                           feedback.requeued)
            if feedback.dead_letter_depth is not None:
                yield _gauge("aibrain_dead_letter_messages", "messages in the dead-letter queue",
                             feedback.dead_letter_depth)


def main_stream_evidence(evidence: MainEvidence) -> CounterMetricFamily:
    """Sub-stream cameras' confirmations by the picture their evidence shows: a sub-stream picture means the main
    stream gave no keyframe in time (down, or its password changed) while the sub-stream still works."""
    family = CounterMetricFamily("aibrain_main_stream_evidence", "violations of sub-stream (detect_url) cameras by "
                                 "the picture their evidence shows: main-stream, or sub-stream when the main stream "
                                 "gave none in time", labels=["picture"])
    family.add_metric(["main-stream"], evidence.stats.grabbed)
    family.add_metric(["sub-stream"], evidence.stats.fallbacks)
    return family


def stage_cpu_family() -> CounterMetricFamily:
    """The process's CPU seconds per pipeline stage (common/stage_cpu.py): divided by the frames detected, where a
    frame's CPU goes; the process's CPU less their sum is what no stage sees (the model's own threads, the rest)."""
    family = CounterMetricFamily("aibrain_stage_cpu_seconds", "thread CPU seconds spent in each pipeline stage, "
                                 "summed over the process's threads", labels=["stage"])
    for stage, seconds in STAGE_CPU.totals().items():
        family.add_metric([stage.value], seconds)
    return family


def _counter(name: str, documentation: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(name, documentation, value=value)


def _gauge(name: str, documentation: str, value: float | Callable[[], float]) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value() if callable(value) else value)


def histogram_family(name: str, documentation: str, histogram: DurationHistogram) -> HistogramMetricFamily:
    """The histogram as Prometheus serves it: cumulative `le` buckets (spelt as prometheus_client spells its
    own), +Inf last, the sum and (from +Inf) the count."""
    snapshot = histogram.snapshot()
    buckets: list[tuple[str, float]] = [(floatToGoString(bound), count)
                                        for bound, count in zip(snapshot.bounds, snapshot.cumulative, strict=True)]
    buckets.append(("+Inf", snapshot.count))
    return HistogramMetricFamily(name, documentation, buckets=buckets, sum_value=snapshot.sum_s)

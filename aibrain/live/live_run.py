"""`aibrain run`: wire the roles together for the site's cameras, watch them, stop cleanly on a signal."""

from __future__ import annotations

import logging
import signal
import threading
import time
import zlib
from dataclasses import asdict, dataclass, field

import pika
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from aibrain import assemble
from aibrain.broker_setup.broker_settings import broker_tls
from aibrain.live.status_server import StatusServer, open_status_server
from aibrain.live.supervisor import CHECK_EVERY_S, EXIT_ROLE_FAILED, Supervisor
from aibrain.live.verifier_role import VerificationCoordinator
from common.redact import describe, redact_url
from common.role import ThreadRole
from configs.load import Site
from configs.schema import CameraConfig
from detector.inference_loop import InferenceLoop
from detector.presence import Verifier
from routing.broker.feedback_consumer import FeedbackConsumer
from routing.broker.relay import OutboxRelay
from routing.incidents.deadline_watcher import DeadlineWatcher
from routing.incidents.intake import RoutingIntake
from routing.incidents.migrate import upgrade_to_head
from routing.incidents.store import pending_count
from streams.mailbox import LatestFrameSlots
from streams.source import CameraReader

log = logging.getLogger(__name__)

STATUS_EVERY_S = 60.0
JOIN_TIMEOUT_S = 15.0


def in_shard(camera_id: str, shard: tuple[int, int]) -> bool:
    """Stable across processes and nodes (unlike hash()), so each camera lands on one node."""
    index, count = shard
    return zlib.crc32(camera_id.encode()) % count == index


@dataclass
class LiveRun:
    """The running roles of one `aibrain run`; `stop` ends them all. Built by `LiveRun.build`.

    >>> run = LiveRun.build(site, cameras, threading.Event())  # doctest: +SKIP
    >>> run.start(); watch(run, run.stop); run.shutdown()       # doctest: +SKIP
    """

    site: Site
    stop: threading.Event
    model: assemble.LoadedModel
    sessions: sessionmaker[Session]
    slots: LatestFrameSlots
    readers: list[CameraReader]
    inference: InferenceLoop
    intake: RoutingIntake
    relay: OutboxRelay | None  # None without a broker: alerts stay in the outbox
    feedback: FeedbackConsumer | None
    watcher: DeadlineWatcher
    verification: VerificationCoordinator
    supervisor: Supervisor = field(init=False)  # watches every role in `roles()`

    def __post_init__(self) -> None:
        self.supervisor = Supervisor(self.roles())

    @classmethod
    def build(cls, site: Site, cameras: list[CameraConfig], stop: threading.Event,
              shard: tuple[int, int] = (0, 1)) -> LiveRun:
        """The roles for `cameras`, wired and not yet started; `shard` names the intake's spool, so
        shards on one host keep theirs apart."""
        model = assemble.open_model(site)
        sessions = assemble.sessions(site.database_url())
        loop = assemble.closed_loop(site)
        topology = loop.topology
        broker, tls = site.broker_url(), broker_tls(site)
        relay = OutboxRelay(broker, sessions, topology, stop, tls=tls) if broker else None
        wake = relay.wake if relay else None
        intake = RoutingIntake(assemble.dispatcher(site, sessions, wake=wake), stop,
                               spool=assemble.intake_spool(site, shard))
        verifier = Verifier()
        verification = VerificationCoordinator(
            sessions, loop, verifier, [camera.id for camera in cameras], assemble.verification_policy(site), stop,
            wake=wake)
        feedback = FeedbackConsumer(
            broker, sessions, loop, topology, stop, tls=tls, on_change=verification.kick,
            trusted_users=frozenset({pika.URLParameters(broker).credentials.username})) if broker else None
        watcher = DeadlineWatcher(sessions, loop, stop, every_s=site.config.escalation.check_every_s, wake=wake)
        slots = LatestFrameSlots(camera.id for camera in cameras)
        readers = [CameraReader(assemble.source_settings(site, camera), slots, intake.submit, stop)
                   for camera in cameras]
        detector_states = {camera.id: assemble.camera_detector_state(site, camera, model) for camera in cameras}
        detector = site.config.detector
        inference = InferenceLoop(
            model.backend, slots, detector_states, on_violation=lambda v, _frame: intake.submit(v),
            stop=stop, max_batch=detector.max_batch, max_wait_ms=detector.max_wait_ms,
            evidence_dir=site.path(site.config.evidence_dir), tz=site.config.tz,
            verifier=verifier, on_verdict=verification.on_verdict)
        return cls(site=site, stop=stop, model=model, sessions=sessions, slots=slots, readers=readers,
                   inference=inference, intake=intake, relay=relay, feedback=feedback, watcher=watcher,
                   verification=verification)

    def roles(self) -> list[ThreadRole]:
        """Every role thread of the run, in start order: what takes their output starts before them."""
        brokers = [role for role in (self.relay, self.feedback) if role is not None]
        return [self.intake, *brokers, self.watcher, self.verification, self.inference, *self.readers]

    def unsent_messages(self) -> int:
        with self.sessions() as session:
            return pending_count(session)

    def start(self) -> None:
        for role in self.roles():
            role.start()
        broker = self.site.broker_url()
        log.info("running %d camera(s) with %s; alerts %s", len(self.readers), self.model.weights,
                 f"to {redact_url(broker)}" if broker else "kept in the outbox (no broker configured)")

    def log_status(self) -> None:
        try:
            unsent = str(self.unsent_messages())
        except SQLAlchemyError as exc:
            unsent = f"unknown (database unavailable: {describe(getattr(exc, 'orig', None) or exc)})"
        frames = {c: s.frames for c, s in self.inference.stats.cameras.items()}
        dropped = {r.settings.camera_id: self.slots.dropped(r.settings.camera_id) for r in self.readers}
        unusable = {r.settings.camera_id: sum(asdict(r.stats().dropped).values()) for r in self.readers}
        log.info("status: frames detected %s, dropped %s, incidents %d, outbox unsent %s, unusable pictures %s",
                 frames, dropped, self.intake.stats.incidents, unsent, unusable)

    def shutdown(self) -> None:
        """Readers and inference stop first; what was detected is still stored, or, if the database
        is still away after the join timeout, kept in the intake's spool for the next start; the
        relay stops last, so unsent rows stay in the outbox for the next start."""
        self.stop.set()
        for reader in self.readers:
            reader.join(JOIN_TIMEOUT_S)
        self.slots.close()
        self.inference.join(JOIN_TIMEOUT_S)
        self.intake.join(JOIN_TIMEOUT_S)
        self.intake.spool_remaining()
        for role in (self.verification, self.watcher, self.feedback, self.relay):
            if role is not None:
                role.join(JOIN_TIMEOUT_S)
        self.log_status()


def run_live(site: Site, shard: tuple[int, int] = (0, 1)) -> int:
    cameras = [camera for camera in site.config.cameras if in_shard(camera.id, shard)]
    if not cameras:
        log.error("shard %d/%d holds none of the site's %d cameras", *shard, len(site.config.cameras))
        return 1
    # Installed first: a SIGTERM while the run is still starting stops it cleanly once started.
    stop = threading.Event()

    def on_signal(number: int, _frame: object) -> None:
        log.info("signal %d: stopping", number)
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, on_signal)
    # Bound before anything starts: a port in use stops the start here, with the field named.
    status_server = open_status_server(site)
    try:
        return run_until_stopped(site, cameras, status_server, stop, shard)
    finally:
        if status_server is not None:
            status_server.close()


def run_until_stopped(site: Site, cameras: list[CameraConfig], status_server: StatusServer | None,
                      stop: threading.Event, shard: tuple[int, int] = (0, 1)) -> int:
    upgrade_to_head(site.database_url())
    run = LiveRun.build(site, cameras, stop, shard)
    if status_server is not None:
        status_server.attach(run)
        log.info("metrics, /healthz and /readyz at http://%s:%d", site.config.metrics_host, status_server.port)
    run.start()
    code = watch(run, stop)
    run.shutdown()
    return code


def watch(run: LiveRun, stop: threading.Event) -> int:
    """Supervise the roles every CHECK_EVERY_S and log the status every STATUS_EVERY_S until `stop`;
    EXIT_ROLE_FAILED as soon as a role keeps crashing (the process is then restarted whole)."""
    next_status = time.monotonic() + STATUS_EVERY_S
    while not stop.wait(CHECK_EVERY_S):
        if not run.supervisor.check():
            return EXIT_ROLE_FAILED
        if time.monotonic() >= next_status:
            next_status += STATUS_EVERY_S
            run.log_status()
    return 0

"""`aibrain run`: wire the roles together for the site's cameras, watch them, apply a changed site file, stop
cleanly on a signal."""

from __future__ import annotations

import dataclasses
import logging
import signal
import socket
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

import pika
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from aibrain import assemble
from aibrain.broker_setup.broker_settings import broker_tls, escalation_chains, site_topology
from aibrain.live.camera_pictures import CameraPictures
from aibrain.live.live_files import ReloadOutcome, live_dir, reload_file, replace_file
from aibrain.live.reload import SiteReload, plan_reload
from aibrain.live.site_watch import SiteFileWatch
from aibrain.live.status_server import StatusServer, open_status_server
from aibrain.live.supervisor import CHECK_EVERY_S, EXIT_ROLE_FAILED, Supervisor
from aibrain.live.verifier_role import VerificationCoordinator
from aibrain.web.server import WebRole, announce, bind
from aibrain.web.workbench import Workbench
from common.redact import describe, redact_url
from common.role import ThreadRole
from configs.load import Site, load_site
from configs.problems import ConfigError
from configs.schema import CameraConfig
from detector.inference_loop import CameraDetectorState, InferenceLoop
from detector.main_evidence import MainEvidence
from detector.presence import Verifier
from detector.violation import Violation
from routing.broker.feedback_consumer import FeedbackConsumer
from routing.broker.relay import OutboxRelay
from routing.incidents.closed_loop import ClosedLoop
from routing.incidents.deadline_watcher import DeadlineWatcher
from routing.incidents.intake import RoutingIntake
from routing.incidents.migrate import upgrade_to_head
from routing.incidents.store import pending_count
from streams.frame import Frame
from streams.health import HealthEvent
from streams.mailbox import LatestFrameSlots
from streams.main_picture import MainStream
from streams.source import CameraReader, SourceSettings

log = logging.getLogger(__name__)

STATUS_EVERY_S = 60.0
JOIN_TIMEOUT_S = 15.0


def in_shard(camera_id: str, shard: tuple[int, int]) -> bool:
    """Stable across processes and nodes (unlike hash()), so each camera lands on one node."""
    index, count = shard
    return zlib.crc32(camera_id.encode()) % count == index


@dataclass
class LiveRun:
    """The running roles of one `aibrain run`; `stop` ends them all. Built by `LiveRun.build`; `reload`
    applies a changed site file to them while they run.

    >>> run = LiveRun.build(site, cameras, threading.Event())  # doctest: +SKIP
    >>> run.start(); watch(run, run.stop); run.shutdown()       # doctest: +SKIP
    """

    site: Site  # as running: after a reload, the file's new site with the restart-only fields as started
    stop: threading.Event
    shard: tuple[int, int]
    model: assemble.LoadedModel
    sessions: sessionmaker[Session]
    loop: ClosedLoop  # shared by the watcher, the feedback consumer and verification
    slots: LatestFrameSlots
    readers: list[CameraReader]  # replaced whole by a reload, never changed in place
    reader_stops: dict[str, threading.Event]  # per camera: a reload stops one reader alone
    camera_health: Callable[[HealthEvent], None]  # what every reader reports to
    inference: InferenceLoop
    intake: RoutingIntake
    relay: OutboxRelay | None  # None without a broker: alerts stay in the outbox
    feedback: FeedbackConsumer | None
    watcher: DeadlineWatcher
    verification: VerificationCoordinator
    pictures: CameraPictures
    main_evidence: MainEvidence  # sub-stream cameras' evidence, grabbed from their main streams
    web: WebRole | None = None  # the workbench, when the site has a `web:` section
    supervisor: Supervisor = field(init=False)  # watches every role in `roles()`

    def __post_init__(self) -> None:
        self.supervisor = Supervisor(self.roles())

    @classmethod
    def build(cls, site: Site, cameras: list[CameraConfig], stop: threading.Event,
              shard: tuple[int, int] = (0, 1), web_listener: socket.socket | None = None) -> LiveRun:
        """The roles for `cameras`, wired and not yet started; `shard` names the intake's spool and the
        workbench's files, so shards on one host keep theirs apart. With `web_listener` (bound by
        `run_live` before anything starts) the workbench is served too."""
        model = assemble.open_model(site, side_by_side=True)
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
        pictures = CameraPictures(live_dir(site.path(site.config.evidence_dir)), [camera.id for camera in cameras],
                                  stop, shard)

        def camera_health(event: HealthEvent) -> None:
            pictures.on_health(event)
            intake.submit(event)

        def on_violation(violation: Violation, _frame: Frame) -> None:
            pictures.on_violation(violation)
            intake.submit(violation)

        slots = LatestFrameSlots(camera.id for camera in cameras)
        reader_stops = {camera.id: threading.Event() for camera in cameras}
        detect_size = assemble.detect_size(model)
        readers = [CameraReader(assemble.source_settings(site, camera, detect_size=detect_size), slots, camera_health,
                                reader_stops[camera.id])
                   for camera in cameras]
        detector_states = {camera.id: assemble.camera_detector_state(site, camera, model) for camera in cameras}
        main_evidence = MainEvidence()
        main_evidence.use(main_streams(readers))
        detector = site.config.detector
        inference = InferenceLoop(
            model.backend, slots, detector_states, on_violation=on_violation,
            stop=stop, max_batch=detector.max_batch, max_wait_ms=detector.max_wait_ms,
            evidence_dir=site.path(site.config.evidence_dir), tz=site.config.tz,
            verifier=verifier, on_verdict=verification.on_verdict, on_batch=pictures.offer,
            main_evidence=main_evidence, more_backends=model.more_backends)
        web = (WebRole(Workbench.build(site, sessions, after_resolve=verification.kick), web_listener, stop)
               if web_listener else None)
        return cls(site=site, stop=stop, shard=shard, model=model, sessions=sessions, loop=loop, slots=slots,
                   readers=readers, reader_stops=reader_stops, camera_health=camera_health, inference=inference,
                   intake=intake, relay=relay, feedback=feedback, watcher=watcher, verification=verification,
                   pictures=pictures, main_evidence=main_evidence, web=web)

    def roles(self) -> list[ThreadRole]:
        """Every role thread of the run, in start order: what takes their output starts before them."""
        brokers = [role for role in (self.relay, self.feedback) if role is not None]
        web = [self.web] if self.web is not None else []
        return [*web, self.intake, *brokers, self.watcher, self.verification, self.pictures, self.inference,
                *self.readers]

    def runs_camera(self, camera_id: str) -> bool:
        return in_shard(camera_id, self.shard)

    def unsent_messages(self) -> int:
        with self.sessions() as session:
            return pending_count(session)

    def start(self) -> None:
        for role in self.roles():
            role.start()
        broker = self.site.broker_url()
        log.info("running %d camera(s) with %s (%d session(s) side by side); alerts %s", len(self.readers),
                 self.model.weights, 1 + len(self.model.more_backends),
                 f"to {redact_url(broker)}" if broker else "kept in the outbox (no broker configured)")

    # -- reloading the site file -------------------------------------------------------------------

    def reload(self) -> ReloadOutcome:
        """Read the site file again, as check-config does, and apply what changed; a file with problems
        is refused, each problem logged, and the running configuration kept. The outcome is logged in
        one line and written for the workbench (live_files.ReloadOutcome). Call it from the thread
        that watches the roles (see `apply`)."""
        at, file = datetime.now(UTC), self.site.file
        try:
            new_site = load_site(file)
        except ConfigError as exc:
            for problem in exc.problems:
                log.error("site reload: %s", problem)
            log.error("site reload of %s refused: %d problem(s); the running configuration is kept",
                      file, len(exc.problems))
            outcome = ReloadOutcome(at=at, file=str(file), ok=False, problems=[str(p) for p in exc.problems])
        else:
            try:
                plan = plan_reload(self.site, new_site, self.runs_camera)
                self.apply(plan)
            except Exception as exc:  # a bug must not end the run: it goes on with what was applied
                log.exception("site reload of %s failed while being applied", file)
                outcome = ReloadOutcome(at=at, file=str(file), ok=False,
                                        problems=[f"applying it failed: {describe(exc)} (see the log)"])
            else:
                outcome = ReloadOutcome(at=at, file=str(file), ok=True, changes=plan.changes(),
                                        needs_restart=list(plan.needs_restart))
                log.info("site reload of %s applied: %s", file, "; ".join(outcome.changes) or "nothing changed")
                if plan.needs_restart:
                    log.warning("site reload of %s: %s changed, which takes effect only when `aibrain run` starts "
                                "again", file, ", ".join(plan.needs_restart))
        self._write_outcome(outcome)
        return outcome

    def apply(self, plan: SiteReload) -> None:
        """Put a reload in place. Everything new is built first, so a failure there changes nothing;
        then each role takes its part where none of its work is half done, handed whole new objects,
        never ones changed under it: the inference loop swaps detector states between two batches,
        all at once (`InferenceLoop.reconfigure`); the intake routes its next item with the new
        dispatcher; the relay declares new queues before its next batch. The reader list and the
        supervisor's watches are replaced here, on the thread that supervises. Unchanged cameras keep
        their reader, tracker and rules (so their dwell timers) untouched."""
        site = plan.site
        topology, wake = site_topology(site), self.relay.wake if self.relay else None
        dispatcher = assemble.dispatcher(site, self.sessions, wake=wake)
        camera_ids = [camera.id for camera in site.config.cameras if self.runs_camera(camera.id)]
        states: dict[str, CameraDetectorState | None] = {camera_id: None for camera_id in plan.removed}
        states |= {camera.id: assemble.camera_detector_state(site, camera, self.model) for camera in plan.added}
        for camera in plan.detectors_rebuilt:
            # New zones and rules (their timers start afresh); the tracker goes on, so tracks keep their ids.
            running = self.inference.cameras.get(camera.id)
            rebuilt = assemble.camera_detector_state(site, camera, self.model)
            states[camera.id] = rebuilt if running is None else dataclasses.replace(
                rebuilt, tracker=running.tracker, frame_size=running.frame_size)
        sources = {camera.id: assemble.source_settings(site, camera, detect_size=assemble.detect_size(self.model))
                   for camera in (*plan.readers_restarted, *plan.added)}

        # Routing first: the first violation of an added camera finds its name and grid known.
        if self.relay is not None and topology != self.loop.topology:
            self.relay.use_topology(topology)
        # Attributes of the one ClosedLoop the watcher, the feedback consumer and verification share, each
        # replaced whole; an escalation under way may read the new chains with the old limits, once.
        self.loop.limits, self.loop.chains, self.loop.topology = (assemble.due_limits(site), escalation_chains(site),
                                                                  topology)
        self.intake.use_dispatcher(dispatcher)
        self.verification.use(camera_ids, assemble.verification_policy(site))
        self.pictures.use_cameras(camera_ids)
        self.inference.reconfigure(states)
        readers = {reader.settings.camera_id: reader for reader in self.readers}
        for camera_id in plan.removed:
            self.reader_stops.pop(camera_id).set()
            del readers[camera_id]
            self.slots.remove(camera_id)
        for camera_id, source in sources.items():
            if camera_id in readers:
                self.reader_stops.pop(camera_id).set()
            self.slots.add(camera_id)
            readers[camera_id] = self._start_reader(source)
        self.readers = list(readers.values())
        self.main_evidence.use(main_streams(self.readers))
        self.supervisor.watch(self.roles())
        self.site = site
        if not self.readers:
            log.warning("the site file leaves this process no camera to run")

    def _start_reader(self, source: SourceSettings) -> CameraReader:
        self.reader_stops[source.camera_id] = stop = threading.Event()
        reader = CameraReader(source, self.slots, self.camera_health, stop)
        reader.start()
        return reader

    def _write_outcome(self, outcome: ReloadOutcome) -> None:
        path = reload_file(self.pictures.folder, self.shard)
        try:
            replace_file(path, outcome.model_dump_json(indent=1).encode())
        except OSError as exc:
            log.warning("the reload's outcome cannot be written to %s: %s", path, describe(exc))

    # -- status and stop ---------------------------------------------------------------------------

    def log_status(self) -> None:
        try:
            unsent = str(self.unsent_messages())
        except SQLAlchemyError as exc:
            unsent = f"unknown (database unavailable: {describe(getattr(exc, 'orig', None) or exc)})"
        frames = {c: s.frames for c, s in self.inference.stats.cameras.items()}
        dropped = {r.settings.camera_id: self.slots.dropped(r.settings.camera_id) for r in self.readers}
        unusable = {r.settings.camera_id: sum(asdict(r.stats().dropped).values()) for r in self.readers}
        # Under overload a keyframes camera skips decoding rather than dropping: "behind" shows here, not as drops.
        skipped = {r.settings.camera_id: r.stats().frames_skipped for r in self.readers}
        evidence = self.main_evidence.stats
        # Sub-stream cameras' evidence: how often the main stream gave no picture in time (a camera's main stream down).
        main_stream = (f", main-stream evidence {evidence.grabbed}, sub-stream fallbacks {evidence.fallbacks}"
                       if evidence.grabbed or evidence.fallbacks else "")
        log.info("status: frames detected %s, dropped %s, incidents %d, outbox unsent %s, unusable pictures %s, "
                 "skipped %s%s", frames, dropped, self.intake.stats.incidents, unsent, unusable, skipped, main_stream)

    def shutdown(self) -> None:
        """Readers and inference stop first; what was detected is still stored, or, if the database
        is still away after the join timeout, kept in the intake's spool for the next start; the
        relay stops last, so unsent rows stay in the outbox for the next start."""
        self.stop.set()
        for reader_stop in self.reader_stops.values():
            reader_stop.set()
        for reader in self.readers:
            reader.join(JOIN_TIMEOUT_S)
        self.slots.close()
        self.inference.join(JOIN_TIMEOUT_S)
        self.main_evidence.close()  # its violations still reach the intake (each grab is bounded)
        self.intake.join(JOIN_TIMEOUT_S)
        self.intake.spool_remaining()
        for role in (self.pictures, self.verification, self.watcher, self.feedback, self.relay, self.web):
            if role is not None:
                role.join(JOIN_TIMEOUT_S)
        self.log_status()


def main_streams(readers: list[CameraReader]) -> dict[str, MainStream]:
    """The main stream of each reader that decodes a sub-stream, by camera: where its evidence is grabbed."""
    return {reader.settings.camera_id: reader.main_stream for reader in readers if reader.main_stream is not None}


def run_live(site: Site, shard: tuple[int, int] = (0, 1)) -> int:
    cameras = [camera for camera in site.config.cameras if in_shard(camera.id, shard)]
    if not cameras:
        log.error("shard %d/%d holds none of the site's %d cameras", *shard, len(site.config.cameras))
        return 1
    # Installed first: a SIGTERM while the run is still starting stops it cleanly once started, and a
    # SIGHUP reloads the site file once it runs.
    stop = threading.Event()
    site_watch = SiteFileWatch(site.file)

    def on_signal(number: int, _frame: object) -> None:
        log.info("signal %d: stopping", number)
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, on_signal)
    signal.signal(signal.SIGHUP, site_watch.request)
    # Bound before anything starts: a port in use stops the start here, with the field named.
    status_server = open_status_server(site)
    web = site.config.web
    try:
        web_listener = bind(site.file, web.host, web.port) if web is not None else None
        return run_until_stopped(site, cameras, status_server, stop, shard, site_watch, web_listener)
    finally:
        if status_server is not None:
            status_server.close()


def run_until_stopped(site: Site, cameras: list[CameraConfig], status_server: StatusServer | None,
                      stop: threading.Event, shard: tuple[int, int] = (0, 1),
                      site_watch: SiteFileWatch | None = None, web_listener: socket.socket | None = None) -> int:
    upgrade_to_head(site.database_url())
    run = LiveRun.build(site, cameras, stop, shard, web_listener)
    if status_server is not None:
        status_server.attach(run)
        log.info("metrics, /healthz and /readyz at http://%s:%d", site.config.metrics_host, status_server.port)
    if run.web is not None and site.config.web is not None:
        announce(run.web.bench, site.config.web.host, site.config.web.port)
    run.start()
    code = watch(run, stop, site_watch)
    run.shutdown()
    return code


def watch(run: LiveRun, stop: threading.Event, site_watch: SiteFileWatch | None = None) -> int:
    """Supervise the roles every CHECK_EVERY_S, reload the site file when `site_watch` says so, and log
    the status every STATUS_EVERY_S until `stop`; EXIT_ROLE_FAILED as soon as a role keeps crashing
    (the process is then restarted whole). Reloads run on this thread, the one that supervises: the
    roles it replaces are never watched half replaced."""
    next_status = time.monotonic() + STATUS_EVERY_S
    while not stop.wait(CHECK_EVERY_S):
        if not run.supervisor.check():
            return EXIT_ROLE_FAILED
        if site_watch is not None and (why := site_watch.due()) is not None:
            log.info("reloading %s (%s)", run.site.file, why)
            run.reload()
        if time.monotonic() >= next_status:
            next_status += STATUS_EVERY_S
            run.log_status()
    return 0

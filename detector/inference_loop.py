"""The inference loop: batches of frames from all cameras -> backend -> per camera tracker, rules,
evidence -> violations handed on, the post work of one batch overlapping the next batch's inference.
Also `detect_stream`, the same per-frame path without threads."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, tzinfo
from itertools import islice
from pathlib import Path

import numpy as np

from common.durations import DurationHistogram
from common.role import ThreadRole
from common.stage_cpu import Stage, stage_cpu
from detector.backends.backend import Backend
from detector.detections import Detections
from detector.engine import RuleEngine
from detector.evidence import EvidenceWrites, PictureSource
from detector.main_evidence import EvidenceJob, MainEvidence
from detector.presence import PresenceResult, Verifier
from detector.tracker import CameraTracker
from detector.violation import Violation
from streams.frame import Frame
from streams.mailbox import LatestFrameSlots
from streams.main_picture import MainStream

log = logging.getLogger(__name__)

POLL_TIMEOUT_S = 0.5  # longest wait for a frame before looking at `stop` again

# Bucket bounds, seconds. A frame's age spans the mailbox wait at the detection rate (a few hundred ms at
# 1 frame/s) up to the backlog of an overloaded node (many seconds). A batch takes ms on a GPU, a
# fraction of a second to seconds for a full batch on CPU.
FRAME_AGE_BOUNDS_S = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
INFERENCE_BOUNDS_S = (0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0)


@dataclass
class CameraDetectorState:
    """What the detector keeps per camera: its tracker, its rule engine (zones and rules), whether its
    snapshot writes are failing, and the 中文 name of each kind its snapshots caption (code -> label,
    given by the app: the detector knows kinds, not the taxonomy; a kind not named shows its code only)."""

    tracker: CameraTracker
    engine: RuleEngine
    frame_size: tuple[int, int] | None = None
    evidence: EvidenceWrites = field(default_factory=EvidenceWrites)
    kind_labels: Mapping[str, str] = field(default_factory=dict)
    evidence_frames: bool = True  # keep each snapshot's frame clean beside it, with its detections (the site's switch)

    def process(self, frame: Frame, detections: Detections, evidence_dir: Path | None = None,
                tz: tzinfo = UTC) -> list[Violation]:
        """Track, apply the rules, and snapshot each violation when `evidence_dir` is given, with the clean
        frame and every one of `detections` beside the snapshot when `evidence_frames` is on. A violation
        whose snapshot cannot be written keeps `snapshot` and `frame` None, one whose clean frame cannot,
        `frame` (see EvidenceWrites)."""
        violations, seen = self.judge(frame, detections)
        if evidence_dir is None or not violations:
            return violations
        with stage_cpu(Stage.EVIDENCE):
            return [self.keep_evidence(frame, v, seen, evidence_dir, tz) for v in violations]

    def judge(self, frame: Frame, detections: Detections) -> tuple[list[Violation], Detections]:
        """Track and apply the rules: the frame's violations, and its detections as its evidence lists them
        (with the tracker's ids when `evidence_frames` is on)."""
        size = (frame.width, frame.height)
        if self.frame_size is not None and size != self.frame_size:
            # Tracks in the old picture's pixels would not match; rules remember objects in
            # fractions of the frame, so parked objects carry over to the new resolution.
            log.info("camera %s: picture changed from %dx%d to %dx%d; tracks restarted",
                     frame.camera_id, *self.frame_size, *size)
            self.tracker.reset()
        self.frame_size = size
        with stage_cpu(Stage.TRACKING_RULES):
            tracked = self.tracker.update(detections, frame.ts)
            # The look check reads the detector's (smaller) picture: it takes boxes as fractions of the frame,
            # so the full-size picture is converted only for a violation's evidence.
            violations = self.engine.evaluate(frame.ts, tracked, size, frame.detect_image)
        seen = with_track_ids(detections, tracked) if violations and self.evidence_frames else detections
        return violations, seen

    def keep_evidence(self, frame: Frame, violation: Violation, detections: Detections, evidence_dir: Path,
                      tz: tzinfo, source: PictureSource | None = None) -> Violation:
        """The violation with its snapshot and clean frame written on `frame`'s picture (for a sub-stream
        camera: the main stream's, or the fallback, as `source` says; the sidecar keeps it)."""
        snapshot = self.evidence.write(frame, violation, self.engine.zone(violation.zone).pixel_polygon(
            frame.width, frame.height), evidence_dir, tz, self.kind_labels.get(violation.kind))
        # Beside the snapshot: without one (its folder failing), there is nowhere to put the frame either.
        clean = self.evidence.write_frame(frame, violation, detections, self.engine.class_names, snapshot, source) \
            if snapshot is not None and self.evidence_frames else None
        return replace(violation, snapshot=snapshot, frame=clean)


def to_frame_pixels(detections: Detections, frame: Frame) -> Detections:
    """`detections` found on `frame.detect_image`, with their boxes in the frame's full-size pixels (what the
    tracker, rules, evidence and stored violations work in); everything else kept.

    >>> frame = Frame("cam-01", 0, 0.0, 0.0, np.zeros((1080, 1920, 3), np.uint8), True,
    ...               detect_image=np.zeros((360, 640, 3), np.uint8))
    >>> to_frame_pixels(Detections(np.array([[10, 20, 30, 40]]), np.array([0.9]), np.array([1])), frame).xyxy.tolist()
    [[30.0, 60.0, 90.0, 120.0]]
    """
    scale_x, scale_y = frame.detect_scale
    if scale_x == 1 and scale_y == 1:
        return detections
    scale = np.array([scale_x, scale_y, scale_x, scale_y], np.float32)
    return Detections(detections.xyxy * scale, detections.confidence, detections.class_id, detections.tracker_id)


def detect(backend: Backend, frames: Sequence[Frame]) -> list[Detections]:
    """The backend's detections of each frame's detection picture, boxes in full-size pixels."""
    found = backend.detect([frame.detect_image for frame in frames])
    return [to_frame_pixels(detections, frame) for frame, detections in zip(frames, found, strict=True)]


def with_track_ids(detections: Detections, tracked: Detections) -> Detections:
    """`detections` (all of them, as the backend gave them) with the tracker's id of each where it gave
    one: the tracked detection with the very same box and class (the tracker returns the boxes it was given,
    reordered). The tracker may keep only some; the rest stay -1."""
    ids = np.full(len(detections), -1, np.int64)
    if len(detections) and len(tracked):
        same = ((detections.xyxy[:, None, :] == tracked.xyxy[None, :, :]).all(axis=2)
                & (detections.class_id[:, None] == tracked.class_id[None, :]))
        found = same.any(axis=1)
        ids[found] = tracked.tracker_id[same.argmax(axis=1)[found]]
    return Detections(detections.xyxy, detections.confidence, detections.class_id, ids)


@dataclass
class CameraStats:
    frames: int = 0
    violations: int = 0
    errors: int = 0
    evidence_failures: int = 0  # violations handed on without their snapshot


@dataclass
class LoopStats:
    """Counters of one inference loop (the batch counters and the histograms written by its inferring threads,
    under the loop's lock; `cameras` by the post thread; a sub-stream camera's counts of what it hands on, by
    the evidence worker); read from any."""

    batches: int = 0
    inference_s: float = 0.0  # time inside backend.detect
    backend_errors: int = 0
    cameras: dict[str, CameraStats] = field(default_factory=dict)
    # Per frame: Frame.ts (a live frame's: the wall clock as its reader handed it on, decoded) to the start of
    # its batch's inference, on the loop's clock: the wait in the mailbox and for a batch.
    frame_age: DurationHistogram = field(default_factory=lambda: DurationHistogram(FRAME_AGE_BOUNDS_S))
    # Per batch inferred: the time inside backend.detect.
    batch_inference: DurationHistogram = field(default_factory=lambda: DurationHistogram(INFERENCE_BOUNDS_S))

    @property
    def frames(self) -> int:
        return sum(c.frames for c in self.cameras.values())

    @property
    def evidence_failures(self) -> int:
        return sum(c.evidence_failures for c in self.cameras.values())


def detect_stream(backend: Backend, frames: Iterable[Frame], state: CameraDetectorState,
                  evidence_dir: Path | None = None, tz: tzinfo = UTC) -> Iterator[Violation]:
    """Violations of one camera's frames, in order, synchronously (replay, benchmarks); consecutive
    frames are inferred `backend.max_batch` at a time."""
    frames = iter(frames)
    while chunk := list(islice(frames, backend.max_batch)):
        for frame, detections in zip(chunk, detect(backend, chunk), strict=True):
            yield from state.process(frame, detections, evidence_dir, tz)


@dataclass(frozen=True, slots=True)
class _Inferred:
    """A batch inferred, handed from the inferring thread to the post one."""

    frames: list[Frame]
    detections: list[Detections]


class InferenceLoop(ThreadRole):
    """One per device: takes up to `max_batch` frames from distinct cameras (waiting at most
    `max_wait_ms` for more once one is ready), runs the backend once, then each camera's tracker,
    rules and evidence, and calls `on_violation(violation, frame)`; then `on_batch(frames)`, when
    given, with the batch's frames (the live run's camera pictures take theirs there: no extra decoding).

    Two threads: this role's takes and infers batches; a second one (`<thread_name>-post`) does the rest
    of each batch, in batch order, while the next batch is inferred (the model's run lets go of the GIL,
    the post work is Python). A batch is handed on only once the post thread has started on the one
    before, so at most one inferred batch waits and frames wait in the mailbox, where a newer frame may
    still replace them. A camera's frames keep their order: each batch is taken after the one before it
    and the post work is sequential. Detector states (`reconfigure`) are swapped and the verifier's
    expired looks handed on by the post thread.

    With `more_backends` (further sessions of the same model), each infers on a thread of its own
    (`<thread_name>-<n>`) beside the role's, all handing on to the one post thread: the cores a single
    session's fork/join leaves idle are used. The cameras of a batch are then held in flight in the mailbox
    from the take until the post thread has handed their frames on, so a camera is in one batch at a time
    and its frames keep their order.

    One camera's failure (rules, the callback) is logged with its id and costs that frame only; a
    failed inference costs that batch only; a snapshot that cannot be written costs only the
    snapshot (the violation goes on with `snapshot` None, counted in `stats`). Stops when `stop` is set or the slots
    are closed and drained; the batch already inferred is still handed on first.

    With `main_evidence`, a camera it names a main stream for (its detector watches the sub-stream) has its
    evidence written and its violations handed on by that worker, once a main-stream picture is grabbed (or the
    grab timed out): the post thread never waits on a connection.

    >>> loop = InferenceLoop(backend, slots, cameras, on_violation, stop)  # doctest: +SKIP
    >>> thread = loop.start()                                              # doctest: +SKIP
    """

    thread_name = "inference"

    def __init__(self, backend: Backend, slots: LatestFrameSlots, cameras: Mapping[str, CameraDetectorState],
                 on_violation: Callable[[Violation, Frame], None], stop: threading.Event, max_batch: int = 8,
                 max_wait_ms: float = 5.0, evidence_dir: Path | None = None, tz: tzinfo = UTC,
                 verifier: Verifier | None = None, on_verdict: Callable[[PresenceResult], None] | None = None,
                 clock: Callable[[], float] = time.time,
                 on_batch: Callable[[list[Frame]], None] | None = None,
                 main_evidence: MainEvidence | None = None, more_backends: Sequence[Backend] = ()) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be >= 1, got {max_batch}")
        self.backend, self.slots = backend, slots
        self.more_backends = tuple(more_backends)
        self.cameras: Mapping[str, CameraDetectorState] = dict(cameras)  # replaced whole, by this thread only
        self.on_violation, self.stop = on_violation, stop
        self.max_batch = max_batch
        # A model with a fixed batch of 1 runs frames one by one anyway: waiting for more cameras'
        # frames to fill a batch would only add latency to every frame.
        self.max_wait_s = max_wait_ms / 1000 if backend.max_batch > 1 else 0.0
        self.evidence_dir, self.tz = evidence_dir, tz
        self.verifier, self.on_verdict, self.clock = verifier, on_verdict, clock
        self.on_batch = on_batch
        self.main_evidence = main_evidence
        self.stats = LoopStats()
        self._stats_lock = threading.Lock()  # the inferring threads' counters
        self._unknown_cameras: set[str] = set()  # frames without a state: warned about once (removed ones: never)
        self._changes_lock = threading.Lock()
        self._changes: dict[str, CameraDetectorState | None] = {}  # queued by `reconfigure`, not yet applied

    def reconfigure(self, changes: Mapping[str, CameraDetectorState | None]) -> None:
        """Queue detector states to put in place (None: the camera is gone) from another thread.

        The loop's post thread applies everything queued at once, between two batches: no batch
        sees half of a change (camera A's new zones with camera B's old ones), and a camera's state
        is never swapped while its frame is being tracked. Cameras not named keep their state.
        """
        with self._changes_lock:
            self._changes.update(changes)

    def _apply_changes(self) -> None:
        with self._changes_lock:
            changes, self._changes = self._changes, {}
        if not changes:
            return
        cameras = {**self.cameras, **{c: state for c, state in changes.items() if state is not None}}
        for camera_id, state in changes.items():
            if state is None:
                cameras.pop(camera_id, None)
                self._unknown_cameras.add(camera_id)  # its last frames may be in the batch: ignored, unlogged
            else:
                self._unknown_cameras.discard(camera_id)
        self.cameras = cameras

    def run(self) -> None:
        handoff: queue.Queue[_Inferred | None] = queue.Queue(maxsize=1)  # None: no more batches
        post = threading.Thread(target=self._post_loop, args=(handoff, threading.current_thread()),
                                name=f"{self.thread_name}-post", daemon=True)
        post.start()
        done = threading.Event()  # the role's thread is leaving: the other inferring threads end too
        helpers = [threading.Thread(target=self._infer_loop, args=(backend, handoff, done),
                                    name=f"{self.thread_name}-{n}", daemon=True)
                   for n, backend in enumerate(self.more_backends, start=2)]
        for helper in helpers:
            helper.start()
        try:
            self._infer_loop(self.backend, handoff, done)
        finally:
            done.set()
            for helper in helpers:
                helper.join()
            handoff.put(None)
            post.join()
            # Every thread of this run has ended: a camera taken by one that was killed mid-batch is free again.
            self.slots.release_all()

    def _infer_loop(self, backend: Backend, handoff: queue.Queue[_Inferred | None], done: threading.Event) -> None:
        """One inferring thread: take a batch, infer it on `backend`, hand it to the post thread; until `stop`,
        `done`, or the slots are closed and drained."""
        # One session keeps a camera's order by itself (each batch handed on before the next is taken), and a
        # camera's next frame may be inferred while its last one is in the post work (a replay's one camera).
        hold = bool(self.more_backends)
        while not self.stop.is_set() and not done.is_set():
            frames = self.slots.take_batch(self.max_batch, self.max_wait_s, POLL_TIMEOUT_S, hold=hold)
            inferred = self._infer(frames, backend) if frames else None
            if inferred is not None:
                handoff.put(inferred)
                # Until the post thread takes it (done with the batch before): only then is the next batch
                # taken from the mailbox, its frames as fresh as they can be.
                handoff.join()
            elif frames:
                self.slots.release(f.camera_id for f in frames)  # the batch failed: its cameras' next frames
            elif self.slots.closed and not self.slots.pending():
                return

    def _post_loop(self, handoff: queue.Queue[_Inferred | None], inferring: threading.Thread) -> None:
        """The post thread: each inferred batch in turn; between batches, and every POLL_TIMEOUT_S while none
        comes, the queued detector states and the verifier's expired looks. Ends after the last batch, or
        once the inferring thread is gone without saying so (killed: the role's restart starts a new pair)."""
        while True:
            try:
                inferred = handoff.get(timeout=POLL_TIMEOUT_S)
                handoff.task_done()  # taken: the inferring thread may take the next batch
                if inferred is None:
                    return
            except queue.Empty:
                if not inferring.is_alive():
                    return
                inferred = None
            # Before the batch: the first frames of a camera added meanwhile find its state.
            try:
                self._apply_changes()
                if inferred is not None:
                    self._post(inferred)
                if self.verifier is not None:
                    self._hand_on_verdicts(self.verifier.expire(self.clock()))
            except Exception:  # a bug must not stop the post thread: the inferring one would wait for it forever
                log.exception("the post work of the inference loop failed")
            finally:
                if inferred is not None:
                    self.slots.release(f.camera_id for f in inferred.frames)

    def process_batch(self, frames: list[Frame]) -> None:
        """Infer one batch (the backend splits it to its own max_batch) and hand each frame on, on this
        thread (tests, benchmarks)."""
        inferred = self._infer(frames, self.backend)
        if inferred is not None:
            self._post(inferred)

    def _infer(self, frames: list[Frame], backend: Backend) -> _Inferred | None:
        """The batch's detections, boxes in full-size pixels; None when the inference failed."""
        now = self.clock()
        with self._stats_lock:
            for frame in frames:
                self.stats.frame_age.observe(now - frame.ts)
        started = time.perf_counter()
        try:
            detections = detect(backend, frames)
        except Exception:
            with self._stats_lock:
                self.stats.backend_errors += 1
            log.exception("inference failed on a batch of cameras %s", [f.camera_id for f in frames])
            return None
        inference_s = time.perf_counter() - started
        with self._stats_lock:
            self.stats.inference_s += inference_s
            self.stats.batch_inference.observe(inference_s)
            self.stats.batches += 1
        return _Inferred(frames, detections)

    def _post(self, inferred: _Inferred) -> None:
        """Each frame's tracker, rules, evidence and violations handed on; then the batch hook."""
        for frame, frame_detections in zip(inferred.frames, inferred.detections, strict=True):
            self._process_frame(frame, frame_detections)
        if self.on_batch is not None:
            try:
                self.on_batch(inferred.frames)
            except Exception:
                log.exception("the batch hook failed on cameras %s", [f.camera_id for f in inferred.frames])

    def _verify(self, frame: Frame, detections: Detections, state: CameraDetectorState, stats: CameraStats) -> None:
        assert self.verifier is not None
        try:
            size = (frame.width, frame.height)
            with stage_cpu(Stage.TRACKING_RULES):
                results = self.verifier.observe(frame.camera_id, frame.ts, detections,
                                                state.engine.object_kinds(detections, size), size)
        except Exception:
            stats.errors += 1
            log.exception("camera %s: frame %d failed in verification", frame.camera_id, frame.seq)
            return
        self._hand_on_verdicts(results)

    def _hand_on_verdicts(self, results: list[PresenceResult]) -> None:
        for result in results:
            if self.on_verdict is None:
                log.warning("camera %s: verdict %s for %s has nobody to take it", result.camera_id,
                            result.verdict.value, result.check_id)
                continue
            try:
                self.on_verdict(result)
            except Exception:
                log.exception("camera %s: handing on the verdict for %s failed", result.camera_id, result.check_id)

    def _process_frame(self, frame: Frame, detections: Detections) -> None:
        state = self.cameras.get(frame.camera_id)
        if state is None:
            if frame.camera_id not in self._unknown_cameras:
                self._unknown_cameras.add(frame.camera_id)
                log.warning("camera %s: frames arrive but it has no detector state; ignored", frame.camera_id)
            return
        stats = self.stats.cameras.setdefault(frame.camera_id, CameraStats())
        stats.frames += 1
        if self.verifier is not None and self.verifier.watching(frame.camera_id):
            self._verify(frame, detections, state, stats)
        main = self.main_evidence.stream(frame.camera_id) if self.main_evidence is not None else None
        try:
            if main is None or self.evidence_dir is None:
                violations = state.process(frame, detections, self.evidence_dir, self.tz)
            else:
                violations, seen = state.judge(frame, detections)
                if violations:
                    self._evidence_from_main(frame, violations, seen, state, stats, main, self.evidence_dir)
                return
        except Exception:
            stats.errors += 1
            log.exception("camera %s: frame %d failed in tracking, rules or evidence",
                          frame.camera_id, frame.seq)
            return
        for violation in violations:
            self._hand_on(violation, frame, stats)

    def _evidence_from_main(self, frame: Frame, violations: list[Violation], seen: Detections,
                            state: CameraDetectorState, stats: CameraStats, main: MainStream,
                            evidence_dir: Path) -> None:
        """The violations to the evidence worker, which writes their evidence on a main-stream picture and
        hands them on."""
        assert self.main_evidence is not None

        def keep(picture: Frame, violation: Violation, source: PictureSource) -> Violation:
            with stage_cpu(Stage.EVIDENCE):  # as `process` counts it for the other cameras
                return state.keep_evidence(picture, violation, seen, evidence_dir, self.tz, source)

        def hand_on(violation: Violation, detected: Frame) -> None:
            self._hand_on(violation, detected, stats)

        self.main_evidence.submit(EvidenceJob(frame, violations, main, keep, hand_on))

    def _hand_on(self, violation: Violation, frame: Frame, stats: CameraStats) -> None:
        stats.violations += 1
        if self.evidence_dir is not None and violation.snapshot is None:
            stats.evidence_failures += 1
        try:
            self.on_violation(violation, frame)
        except Exception:
            stats.errors += 1
            log.exception("camera %s: handing on %s failed", frame.camera_id, violation.kind)

"""Evidence from the main stream for cameras whose detector watches a sub-stream (`detect_url`): the keyframe is
grabbed on worker threads, so neither inference nor the post work waits on a connection; each violation goes on
once its snapshot is written, on the sub-stream's picture scaled up when the main stream gives none in time."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import cv2

from common.stage_cpu import Stage, stage_cpu
from detector.evidence import EvidencePicture, PictureSource
from detector.violation import Violation
from streams.frame import Frame
from streams.main_picture import MainStream, NoMainPicture

log = logging.getLogger(__name__)

# Grabs wait on the network (connect, then up to a keyframe interval), hardly on the CPU: a few at once keep
# one slow camera's grab from holding up another's evidence.
GRAB_WORKERS = 4

# Writes one violation's snapshot (and clean frame) on the picture given; returns the violation with their paths.
KeepEvidence = Callable[[Frame, Violation, PictureSource], Violation]


@dataclass(frozen=True, slots=True)
class EvidenceJob:
    """One confirming frame's violations, waiting for a picture of the main stream."""

    frame: Frame  # the detection frame (sub-stream): its time, its boxes in main-stream pixels, the fallback picture
    violations: list[Violation]
    main: MainStream
    keep: KeepEvidence
    hand_on: Callable[[Violation, Frame], None]  # each violation with its evidence, and the detection frame


@dataclass
class MainEvidenceStats:
    """Confirming frames whose evidence shows the main stream, and those that fell back on the sub-stream."""

    grabbed: int = 0
    fallbacks: int = 0


def evidence_frame(frame: Frame, main: MainStream) -> tuple[Frame, PictureSource]:
    """The picture a sub-stream frame's evidence shows: a keyframe of the main stream, at the frame's size (boxes
    are in its pixels; a main stream that changed size meanwhile is scaled to it), keeping the detection frame's
    time and camera; or, when the main stream gives none in time, the frame itself (the sub-stream scaled up)."""
    try:
        grabbed = main.grab()
    except NoMainPicture as exc:
        log.warning("camera %s: no picture from the main stream %s (%s); the evidence shows the sub-stream's",
                    frame.camera_id, main.safe_url, exc)
        return frame, PictureSource(EvidencePicture.SUB_STREAM, frame.ts)
    image = grabbed.image
    if image.shape[:2] != (frame.height, frame.width):
        image = cv2.resize(image, (frame.width, frame.height), interpolation=cv2.INTER_AREA)
    return (Frame(frame.camera_id, frame.seq, frame.ts, frame.media_time_s, image, True),
            PictureSource(EvidencePicture.MAIN_STREAM, grabbed.ts))


class MainEvidence:
    """Grabs and writes sub-stream cameras' evidence on GRAB_WORKERS threads: `submit` returns at once, and each
    job's violations are handed on (`EvidenceJob.hand_on`, on a worker thread) once their snapshots are written;
    a grab is bounded by its camera's open and read timeouts, after which the sub-stream's picture is used, so a
    violation is never lost. Several cameras' jobs run at once; `use` names the cameras' main streams (replaced
    whole). `close` waits for the jobs submitted.

    >>> evidence = MainEvidence()                                   # doctest: +SKIP
    >>> evidence.use({"cam-01": reader.main_stream})                # doctest: +SKIP
    >>> evidence.submit(EvidenceJob(frame, violations, evidence.stream("cam-01"), keep, hand_on))  # doctest: +SKIP
    >>> evidence.close()                                            # doctest: +SKIP
    """

    def __init__(self, workers: int = GRAB_WORKERS) -> None:
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="main-evidence")
        self._streams: Mapping[str, MainStream] = {}
        self.stats = MainEvidenceStats()

    def use(self, streams: Mapping[str, MainStream]) -> None:
        """The main stream of each sub-stream camera (camera id -> stream), in place of those before."""
        self._streams = dict(streams)

    def stream(self, camera_id: str) -> MainStream | None:
        """The camera's main stream when its detector watches a sub-stream; None: evidence as usual."""
        return self._streams.get(camera_id)

    def submit(self, job: EvidenceJob) -> None:
        self._pool.submit(self._run, job)

    def close(self) -> None:
        """Wait for every job submitted (each bounded by its grab's timeouts); submit no more after."""
        self._pool.shutdown(wait=True)

    def _run(self, job: EvidenceJob) -> None:
        frame = job.frame
        try:
            picture, source = evidence_frame(frame, job.main)
        except Exception:  # a bug must not cost the violations: they go on with the detection frame's picture
            log.exception("camera %s: grabbing the main stream's picture failed", frame.camera_id)
            picture, source = frame, PictureSource(EvidencePicture.SUB_STREAM, frame.ts)
        if source.picture is EvidencePicture.MAIN_STREAM:
            self.stats.grabbed += 1
        else:
            self.stats.fallbacks += 1
        for violation in job.violations:
            try:
                with stage_cpu(Stage.EVIDENCE):
                    kept = job.keep(picture, violation, source)
            except Exception:
                log.exception("camera %s: writing the evidence of %s failed", frame.camera_id, violation.kind)
                kept = violation
            try:
                job.hand_on(kept, frame)
            except Exception:
                log.exception("camera %s: handing on %s failed", frame.camera_id, violation.kind)

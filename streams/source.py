"""One camera's reader: connect, decode under the policy, fill the mailbox, report health, reconnect."""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

import av
import av.container
import numpy as np

from common.backoff import Backoff
from common.redact import describe, redact_url
from common.role import ThreadRole
from streams.decode import (
    DecodeCounter,
    DecodedFrame,
    NoVideoStream,
    declared_length_s,
    is_rtsp,
    iter_decoded,
    open_container,
)
from streams.decoder_choice import DecodeDevice, nvdec_missing
from streams.frame import DecodePolicy, Frame, FullPicture
from streams.health import CameraState, HealthEvent, HealthReporter
from streams.mailbox import LatestFrameSlots
from streams.main_picture import MainStream, SubStreamPicture
from streams.screen import DropCounts, NoPicture, PictureScreen, ResolutionChanged

log = logging.getLogger(__name__)

# How long one put_wait blocks before looking at `stop` again (file replay back-pressure).
READER_NICENESS = 5  # above the inference loop's 0: decoding yields the CPU first
_PUT_WAIT_SLICE_S = 0.5
# A whole file's packets may end this much before its declared length (rounding, edit lists).
CUT_SHORT_TOLERANCE_S = 1.0


@dataclass(frozen=True, slots=True)
class SourceSettings:
    """What one reader reads and how. The URL may carry credentials; it is left out of `repr`.

    `live`: frames go through `put_latest` (newest wins, drops counted) and `ts` is the wall clock
    at decode: the mode for cameras. Under the KEYFRAMES policy a live reader does not even decode a
    keyframe while the camera's last frame still waits in the mailbox (it would only replace it; the
    detector is busy): counted as skipped, not dropped. Not live (file replay): `put_wait` (nothing dropped) and
    `ts = replay_origin + media time`, so rules see the file's own timeline at any replay speed.
    `pace` sleeps so media time advances at real time and `loop` starts a file again at its end
    (its timeline keeps increasing); together with `live` they make a file behave like a camera.
    A live source is reported OFFLINE once it gave no usable picture for `offline_after_s`, and at
    once when its connection fails; STALLED when connected without a usable picture for
    `read_timeout_s` (see `CameraReader`).
    `detect_url`, a smaller stream of the same camera (both RTSP, or both files), is what the reader decodes
    then: frames keep the main stream's (`url`) size, probed when connecting (`streams.main_picture`).

    >>> s = SourceSettings("cam-01", "rtsp://admin:secret@10.0.0.7/live", DecodePolicy.KEYFRAMES)
    >>> s.safe_url, "secret" in repr(s)
    ('rtsp://***@10.0.0.7/live', False)
    """

    camera_id: str
    url: str = field(repr=False)
    decode: DecodePolicy = DecodePolicy.SAMPLED
    detect_fps: float | None = 5.0
    open_timeout_s: float = 10.0
    read_timeout_s: float = 10.0
    offline_after_s: float = 15.0
    backoff_initial_s: float = 1.0
    backoff_max_s: float = 15.0
    live: bool = True
    pace: bool = False
    loop: bool = False
    replay_origin: float | None = None  # None: the wall clock when the reader starts
    start_s: float | None = None  # files: first media time to hand on
    end_s: float | None = None  # files: media time at which the file counts as finished
    decode_device: DecodeDevice = DecodeDevice.CPU  # cuda: NVDEC decodes (streams.decoder_choice)
    # (width, height) box the detector's picture is shrunk to fit (the model's input: it would shrink the
    # picture anyway); the full size is then converted only when needed. None: the full-size picture only.
    detect_size: tuple[int, int] | None = None
    detect_url: str | None = field(default=None, repr=False)  # the sub-stream decoded instead of `url`

    def __post_init__(self) -> None:
        where = f"camera {self.camera_id} ({self.safe_url})"
        if self.decode is DecodePolicy.SAMPLED and self.detect_fps is None:
            raise ValueError(f"{where}: decode policy 'sampled' needs detect_fps")
        if self.detect_fps is not None and not self.detect_fps > 0:
            raise ValueError(f"{where}: detect_fps must be > 0, got {self.detect_fps}")
        if not (self.open_timeout_s > 0 and self.read_timeout_s > 0 and self.offline_after_s > 0):
            raise ValueError(f"{where}: open_timeout_s, read_timeout_s and offline_after_s must be > 0")
        if self.is_rtsp and (self.pace or self.loop or self.start_s is not None or self.end_s is not None):
            raise ValueError(f"{where}: pace, loop, start_s and end_s apply to files only")
        if self.is_rtsp and not self.live:
            raise ValueError(f"{where}: an RTSP source is always live")
        if self.live and self.replay_origin is not None:
            raise ValueError(f"{where}: replay_origin applies to replay (live=False) only")
        if self.start_s is not None and self.end_s is not None and self.end_s <= self.start_s:
            raise ValueError(f"{where}: end_s {self.end_s} must be after start_s {self.start_s}")
        Backoff(self.backoff_initial_s, maximum=self.backoff_max_s)  # validates the bounds
        if self.detect_size is not None and not min(self.detect_size) > 0:
            raise ValueError(f"{where}: detect_size must be positive, got {self.detect_size}")
        if self.decode_device is DecodeDevice.CUDA and (missing := nvdec_missing()) is not None:
            raise ValueError(f"{where}: decode_device cuda: {missing}")
        if self.detect_url is not None and is_rtsp(self.detect_url) != self.is_rtsp:
            raise ValueError(f"{where}: detect_url {redact_url(self.detect_url)} must be of the same kind as url "
                             "(both RTSP, or both files)")

    @property
    def is_rtsp(self) -> bool:
        return is_rtsp(self.url)

    @property
    def safe_url(self) -> str:
        """The URL with credentials removed: the only form that may reach a log or a message."""
        return redact_url(self.url)

    @property
    def decoded_url(self) -> str:
        """What the reader decodes: the sub-stream when there is one, else `url`."""
        return self.detect_url or self.url


@dataclass(slots=True)
class ReaderStats:
    """Counters of one reader; read a consistent copy with `CameraReader.stats()`."""

    camera_id: str
    state: CameraState | None = None  # None until the reader starts
    frames_decoded: int = 0
    frames_handed_on: int = 0
    frames_skipped: int = 0  # keyframes left undecoded while the camera's last frame still waited (not dropped)
    dropped: DropCounts = field(default_factory=DropCounts)  # decoded, but no usable picture
    refused_packets: int = 0  # damaged packets the decoder could not take
    open_attempts: int = 0  # connections tried, the first one included
    reconnects: int = 0  # waits before another attempt, after a failure
    last_frame_ts: float | None = None
    damage: str | None = None  # files: why the last pass did not read cleanly to its end


class _Finished(Exception):
    """The file reached its end (or end_s) and does not loop."""


class CameraReader(ThreadRole):
    """Reads one camera or file on its own thread into `slots`, reporting health on each change.

    Only usable pictures are handed on (`streams.screen`): nothing after a (re)connect or a
    corrupt frame before the next clean keyframe, nothing blank or repeated.
    Health: CONNECTING at start, ONLINE at the first picture after each (re)connect, OFFLINE when
    opening fails, a live stream drops or errors, or changes its resolution (the reader then
    reconnects), STALLED when connected but no usable picture came within `read_timeout_s`
    (silence or only damaged frames; the reader reconnects), FINISHED when a non-looping file
    ends (the reader then returns). With a sub-stream (`detect_url`) the main stream's size is probed before
    each connection while unknown or found changed by an evidence grab (`main_stream`; a probe that fails is
    OFFLINE, retried as a failed connection), and a size found changed ends the connection. A watchdog
    thread reports OFFLINE once a live source gave no usable picture for `offline_after_s`, even while
    the reader waits on a connect.
    Each change is reported once; reconnects wait a capped backoff, reset by the first picture.

    >>> stop = threading.Event()
    >>> reader = CameraReader(settings, slots, on_health=print, stop=stop)  # doctest: +SKIP
    >>> reader.start(); ...; stop.set(); reader.join(5)  # doctest: +SKIP
    """

    def __init__(self, settings: SourceSettings, slots: LatestFrameSlots,
                 on_health: Callable[[HealthEvent], None], stop: threading.Event) -> None:
        self.settings = settings
        self.thread_name = f"reader-{settings.camera_id}"
        self._slots = slots
        self._health = HealthReporter(settings.camera_id, on_health, settings.offline_after_s)
        self._stop = stop
        self._stats = ReaderStats(settings.camera_id)
        # Its evidence grabs and its size, when the detector watches the sub-stream (detector.main_evidence).
        self.main_stream = (MainStream(settings.url, settings.open_timeout_s, settings.read_timeout_s)
                            if settings.detect_url is not None else None)
        self._decoded = DecodeCounter()
        self._backoff = Backoff(settings.backoff_initial_s, maximum=settings.backoff_max_s)
        self._seq = 0
        # File timeline: the origin of ts, the offset added per completed loop, and the last media
        # time handed on (a reconnect resumes after it instead of repeating frames).
        self._origin = settings.replay_origin
        self._loop_offset_s = 0.0
        self._resume_after_s: float | None = None
        self._pace_anchor: float | None = None  # monotonic clock at timeline 0, when pacing

    # -- public ----------------------------------------------------------------------------------

    def stats(self) -> ReaderStats:
        return replace(self._stats, state=self._health.state, frames_decoded=self._decoded.frames,
                       frames_skipped=self._decoded.skipped, refused_packets=self._decoded.refused_packets,
                       dropped=replace(self._stats.dropped))

    def run(self) -> None:
        """Connect, read, reconnect until `stop` is set or a non-looping file ends.

        A live source runs its health watchdog on a thread of its own meanwhile.
        """
        done = threading.Event()
        if self.settings.live:
            threading.Thread(target=self._health.watch, args=(self._stop, done),
                             name=f"watch-{self.settings.camera_id}", daemon=True).start()
        try:
            self._run()
        finally:
            done.set()

    def _run(self) -> None:
        s = self.settings
        yield_to_inference()
        if self._origin is None:
            self._origin = time.time()
        self._health.report(CameraState.CONNECTING, s.safe_url if s.detect_url is None else
                            f"{redact_url(s.detect_url)} (sub-stream; evidence from {s.safe_url})")
        while not self._stop.is_set():
            try:
                next_pass = self._read_once()
            except _Finished:
                self._health.report(CameraState.FINISHED, "end of file")
                return
            if self._stop.is_set():
                break
            if next_pass:
                continue
            if not s.live:
                self._health.report(CameraState.FAILED, f"cannot read {s.safe_url}")
                return
            self._stats.reconnects += 1
            delay = self._backoff.next_delay()
            log.debug("camera %s: reconnecting to %s in %.1f s", s.camera_id, s.safe_url, delay)
            self._stop.wait(delay)
        log.info("camera %s: reader stopped", s.camera_id)

    # -- one connection --------------------------------------------------------------------------

    def _read_once(self) -> bool:
        """One connection: open, decode until it ends or fails, reporting health on the way.

        True when a looping file ended a pass and the next one should start at once.
        """
        s = self.settings
        self._stats.open_attempts += 1
        main = self.main_stream
        if main is not None and (main.size is None or main.stale):
            try:
                main.probe()
            except (av.FFmpegError, OSError, ValueError) as exc:
                self._health.report(CameraState.OFFLINE, f"cannot read the size of the main stream {s.safe_url}: "
                                                         f"{describe(exc)}")
                return False
        try:
            container = open_container(s.decoded_url, s.open_timeout_s, s.read_timeout_s)
        except (av.FFmpegError, OSError) as exc:
            self._health.report(CameraState.OFFLINE, f"cannot open {redact_url(s.decoded_url)}: {describe(exc)}")
            return False
        silence = _Silence(s.read_timeout_s)
        self._decoded.packets_end_s = None
        refused_before = self._decoded.refused_packets
        try:
            with container:
                for decoded in self._frames(container):
                    if not silence.heard_any:
                        self._backoff.reset()
                        self._health.report(CameraState.ONLINE, "")
                    silence.frame_arrived()
                    self._hand_on(decoded)
                    if self._stop.is_set():
                        return False
                    if main is not None and main.stale:
                        self._health.report(CameraState.OFFLINE, "the main stream's picture size changed; "
                                                                 "reconnecting")
                        return False
                    silence.waiting()  # on the stream again, not on a slow consumer
                if s.is_rtsp:
                    self._health.report(CameraState.OFFLINE, "stream ended")
                    return False
                self._end_of_file(container, self._decoded.refused_packets - refused_before)
                return True
        except NoVideoStream as exc:
            self._health.report(CameraState.OFFLINE, f"cannot open {redact_url(s.decoded_url)}: {exc}")
        except NoPicture as exc:
            self._health.report(CameraState.STALLED if silence.heard_any else CameraState.OFFLINE, str(exc))
        except ResolutionChanged as exc:
            self._health.report(CameraState.OFFLINE, f"{exc}; reconnecting")
        except (av.FFmpegError, OSError) as exc:
            if silence.heard_any and (isinstance(exc, av.ExitError) or silence.stalled()):
                self._health.report(CameraState.STALLED,
                                    f"no frame within {s.read_timeout_s:g} s ({describe(exc)})")
            else:
                self._health.report(CameraState.OFFLINE, f"read failed: {describe(exc)}")
        except _Finished:
            raise
        except Exception as exc:  # a bug must not kill the camera's thread: log it, back off, retry
            log.error("camera %s: unexpected error\n%s", s.camera_id,
                      redact_url("".join(traceback.format_exception(exc))))
            self._health.report(CameraState.OFFLINE, f"unexpected error: {describe(exc)}")
        return False

    def _frames(self, container: av.container.InputContainer) -> Iterator[DecodedFrame]:
        """The usable pictures the policy hands on from one connection, restricted to
        [start_s, end_s) and, for a file, past the last one handed on before a reconnect."""
        s = self.settings
        first_s = s.start_s if self._resume_after_s is None else None
        if first_s:
            # Seek to the keyframe before start_s; frames before it are decoded but not handed on.
            container.seek(int(first_s * av.time_base), backward=True)
        # One decoder thread per file: the reader only has to stay ahead of the detector, and extra
        # decoder threads would take cores from inference (measured by scripts/bench_pipeline.py).
        # Slice threads for RTSP: they add no latency, unlike frame threads.
        thread_type = "SLICE" if s.is_rtsp else "NONE"
        # A live source's size is fixed per connection, and a connection that yields no usable
        # picture within the read timeout is a stall; a replayed file takes what it holds.
        screen = PictureScreen(self._stats.dropped, fixed_size=s.live,
                               picture_timeout_s=s.read_timeout_s if s.live else None,
                               on_picture=self._health.picture_seen)

        def outside(t: float) -> bool:  # before what is to be handed on (start_s, or a resumed file's past)
            return (first_s is not None and t < first_s) or (self._resume_after_s is not None
                                                             and t <= self._resume_after_s)

        def wanted(t: float) -> bool:
            """Decode the keyframe at media time t? Not while the camera's last frame still waits in the
            mailbox: this one would only replace it. A paced file first waits for the keyframe's time,
            as `_hand_on` would, so skipping never runs ahead of the clock."""
            if outside(t) or (s.end_s is not None and t >= s.end_s) or self._stop.is_set():
                return True  # decoded as ever: filtered below, or it ends the pass
            if s.pace:
                self._sleep_until(self._loop_offset_s + t)
            return not self._slots.waiting(s.camera_id)

        for decoded in iter_decoded(container, s.decode, s.detect_fps, thread_type, self._decoded, screen,
                                    s.decode_device, wanted if s.live else None):
            t = decoded.media_time_s
            if outside(t):
                continue
            if s.end_s is not None and t >= s.end_s:
                return
            yield decoded

    def _end_of_file(self, container: av.container.InputContainer, refused_packets: int) -> None:
        """A file ended: finish, or start the next pass with the timeline continuing. A file cut short
        or damaged is logged (once) and noted in the stats; what it held was handed on all the same."""
        s = self.settings
        damage = file_damage(container, s, self._decoded.packets_end_s, refused_packets)
        if damage is not None and self._stats.damage is None:
            log.warning("camera %s: %s: %s", s.camera_id, s.safe_url, damage)
        self._stats.damage = damage
        if not s.loop:
            raise _Finished
        self._loop_offset_s += _pass_length_s(container, s)
        self._resume_after_s = None
        log.debug("camera %s: looping %s, timeline now at %.3f s", s.camera_id, s.safe_url,
                  self._loop_offset_s)

    # -- per frame -------------------------------------------------------------------------------

    def _hand_on(self, decoded: DecodedFrame) -> None:
        s = self.settings
        timeline_s = self._loop_offset_s + decoded.media_time_s
        if s.pace:
            self._sleep_until(timeline_s)
        image, picture, small = self._pictures(decoded)
        assert self._origin is not None
        ts = time.time() if s.live else self._origin + timeline_s
        frame = Frame(s.camera_id, self._seq, ts, decoded.media_time_s, image, decoded.keyframe,
                      picture=picture, detect_image=small)
        if s.live:
            self._slots.put_latest(frame)
        else:
            while not self._slots.put_wait(frame, self._stop, _PUT_WAIT_SLICE_S):
                if self._stop.is_set() or self._slots.closed:
                    return
        self._seq += 1
        self._stats.frames_handed_on += 1
        self._stats.last_frame_ts = ts
        if not s.is_rtsp:  # a camera's media time starts afresh with each connection
            self._resume_after_s = decoded.media_time_s

    def _pictures(self, decoded: DecodedFrame) -> tuple[np.ndarray | None, FullPicture | None, np.ndarray | None]:
        """The Frame's (image, picture, detect_image): the detector's picture shrunk, the full size converted
        only if something needs it (evidence); a sub-stream's stands in for the main stream's at its size."""
        s = self.settings
        if self.main_stream is not None:
            assert self.main_stream.size is not None  # probed before connecting
            sub = SubStreamPicture(decoded, self.main_stream.size)
            return None, sub, sub.detect_image(s.detect_size)
        small = decoded.to_bgr_fitting(*s.detect_size) if s.detect_size is not None else None
        return (decoded.to_bgr(), None, None) if small is None else (None, decoded, small)

    def _sleep_until(self, timeline_s: float) -> None:
        now = time.monotonic()
        if self._pace_anchor is None:
            self._pace_anchor = now - timeline_s
        delay = self._pace_anchor + timeline_s - now
        if delay > 0:
            self._stop.wait(delay)


def yield_to_inference() -> None:
    """Lower this reader thread's scheduling priority (Linux: per-thread nice).

    A reader only has to stay one frame ahead of the detector; at normal priority its decoding
    preempts the inference threads mid-operation and stalls them all. Under overload a live
    camera then drops frames at its mailbox, which is the designed behaviour, never lag.
    """
    with contextlib.suppress(OSError, AttributeError):  # not Linux, or not permitted: run as is
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), READER_NICENESS)


class _Silence:
    """Tells a stalled stream from a broken one when reading fails.

    The read timeout fires as ExitError, but when it cuts an RTP packet short ffmpeg first hands
    on what it had (a frame or two arrive late, a damaged packet the decoder skips) and then fails
    with another error (InvalidDataError). So a failure counts as a stall when the stream was
    silent for the read timeout at any point within the last read timeout, whatever the error's
    type. (Packets that keep coming without a usable picture are the screen's `NoPicture`.)
    """

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self.heard_any = False
        self._since: float | None = None  # monotonic; when the reader last waited on the stream
        self._long_gap_at: float | None = None

    def waiting(self) -> None:
        self._since = time.monotonic()

    def frame_arrived(self) -> None:
        self.heard_any = True
        now = time.monotonic()
        if self._since is not None and now - self._since >= self.timeout_s:
            self._long_gap_at = now

    def stalled(self) -> bool:
        now = time.monotonic()
        if self._since is not None and now - self._since >= self.timeout_s:
            return True
        return self._long_gap_at is not None and now - self._long_gap_at < self.timeout_s


def file_damage(container: av.container.InputContainer, settings: SourceSettings, packets_end_s: float | None,
                refused_packets: int) -> str | None:
    """Why a file that came to its end was not read cleanly, or None: its packets stop short of the
    length it declares (a copy cut short: the index in front still lists what is missing), or the
    decoder refused some of them."""
    problems = []
    length_s = declared_length_s(container)
    if length_s is not None:
        expected_s = length_s if settings.end_s is None else min(length_s, settings.end_s)
        if expected_s - (packets_end_s or 0.0) > CUT_SHORT_TOLERANCE_S:
            problems.append(f"its packets end at {packets_end_s or 0.0:.1f} s of {length_s:.1f} s")
    if refused_packets:
        problems.append(f"{refused_packets} packet(s) could not be decoded")
    return "cut short or damaged: " + ", ".join(problems) if problems else None


def _pass_length_s(container: av.container.InputContainer, settings: SourceSettings) -> float:
    """How far one pass over the file advances the timeline: [start_s, min(duration, end_s))."""
    duration_s = declared_length_s(container)
    if duration_s is None:
        raise ValueError(f"{settings.safe_url}: cannot loop a file of unknown duration")
    end_s = duration_s if settings.end_s is None else min(duration_s, settings.end_s)
    return end_s - (settings.start_s or 0.0)

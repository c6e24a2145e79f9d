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

from streams.backoff import Backoff
from streams.decode import DecodeCounter, DecodedFrame, is_rtsp, iter_decoded, open_container
from streams.frame import DecodePolicy, Frame
from streams.health import CameraState, HealthEvent
from streams.mailbox import LatestFrameSlots
from streams.redact import redact_url

log = logging.getLogger(__name__)

# How long one put_wait blocks before looking at `stop` again (file replay back-pressure).
READER_NICENESS = 5  # above the inference loop's 0: decoding yields the CPU first
_PUT_WAIT_SLICE_S = 0.5


@dataclass(frozen=True, slots=True)
class SourceSettings:
    """What one reader reads and how. The URL may carry credentials; it is left out of `repr`.

    `live`: frames go through `put_latest` (newest wins, drops counted) and `ts` is the wall clock
    at decode: the mode for cameras. Not live (file replay): `put_wait` (nothing dropped) and
    `ts = replay_origin + media time`, so rules see the file's own timeline at any replay speed.
    `pace` sleeps so media time advances at real time and `loop` starts a file again at its end
    (its timeline keeps increasing); together with `live` they make a file behave like a camera.

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
    backoff_initial_s: float = 1.0
    backoff_max_s: float = 15.0
    live: bool = True
    pace: bool = False
    loop: bool = False
    replay_origin: float | None = None  # None: the wall clock when the reader starts
    start_s: float | None = None  # files: first media time to hand on
    end_s: float | None = None  # files: media time at which the file counts as finished

    def __post_init__(self) -> None:
        where = f"camera {self.camera_id} ({self.safe_url})"
        if self.decode is DecodePolicy.SAMPLED and self.detect_fps is None:
            raise ValueError(f"{where}: decode policy 'sampled' needs detect_fps")
        if self.detect_fps is not None and not self.detect_fps > 0:
            raise ValueError(f"{where}: detect_fps must be > 0, got {self.detect_fps}")
        if not (self.open_timeout_s > 0 and self.read_timeout_s > 0):
            raise ValueError(f"{where}: open and read timeouts must be > 0")
        if self.is_rtsp and (self.pace or self.loop or self.start_s is not None or self.end_s is not None):
            raise ValueError(f"{where}: pace, loop, start_s and end_s apply to files only")
        if self.is_rtsp and not self.live:
            raise ValueError(f"{where}: an RTSP source is always live")
        if self.live and self.replay_origin is not None:
            raise ValueError(f"{where}: replay_origin applies to replay (live=False) only")
        if self.start_s is not None and self.end_s is not None and self.end_s <= self.start_s:
            raise ValueError(f"{where}: end_s {self.end_s} must be after start_s {self.start_s}")
        Backoff(self.backoff_initial_s, maximum=self.backoff_max_s)  # validates the bounds

    @property
    def is_rtsp(self) -> bool:
        return is_rtsp(self.url)

    @property
    def safe_url(self) -> str:
        """The URL with credentials removed: the only form that may reach a log or a message."""
        return redact_url(self.url)


@dataclass(slots=True)
class ReaderStats:
    """Counters of one reader; read a consistent copy with `CameraReader.stats()`."""

    camera_id: str
    state: CameraState | None = None  # None until the reader starts
    frames_decoded: int = 0
    frames_handed_on: int = 0
    reconnects: int = 0
    last_frame_ts: float | None = None


class _Finished(Exception):
    """The file reached its end (or end_s) and does not loop."""


class CameraReader:
    """Reads one camera or file on its own thread into `slots`, reporting health on each change.

    Health: CONNECTING at start, ONLINE at the first frame after each (re)connect, OFFLINE when
    opening fails or a live stream drops or errors, STALLED when connected but no frame arrived
    within `read_timeout_s`, FINISHED when a non-looping file ends (the reader then returns).
    Each change is reported once; reconnects wait a capped backoff, reset by the first frame.

    >>> stop = threading.Event()
    >>> reader = CameraReader(settings, slots, on_health=print, stop=stop)  # doctest: +SKIP
    >>> reader.start(); ...; stop.set(); reader.join(5)  # doctest: +SKIP
    """

    def __init__(self, settings: SourceSettings, slots: LatestFrameSlots,
                 on_health: Callable[[HealthEvent], None], stop: threading.Event) -> None:
        self.settings = settings
        self._slots = slots
        self._on_health = on_health
        self._stop = stop
        self._stats = ReaderStats(settings.camera_id)
        self._decoded = DecodeCounter()
        self._backoff = Backoff(settings.backoff_initial_s, maximum=settings.backoff_max_s)
        self._thread: threading.Thread | None = None
        self._seq = 0
        # File timeline: the origin of ts, the offset added per completed loop, and the last media
        # time handed on (a reconnect resumes after it instead of repeating frames).
        self._origin = settings.replay_origin
        self._loop_offset_s = 0.0
        self._resume_after_s: float | None = None
        self._pace_anchor: float | None = None  # monotonic clock at timeline 0, when pacing

    # -- public ----------------------------------------------------------------------------------

    def start(self) -> threading.Thread:
        """Run the reader on a daemon thread named after the camera."""
        self._thread = threading.Thread(target=self.run, name=f"reader-{self.settings.camera_id}",
                                        daemon=True)
        self._thread.start()
        return self._thread

    def join(self, timeout_s: float) -> bool:
        """Wait for the thread to end; True if it has."""
        if self._thread is None:
            return True
        self._thread.join(timeout_s)
        return not self._thread.is_alive()

    def stats(self) -> ReaderStats:
        self._stats.frames_decoded = self._decoded.frames
        return replace(self._stats)

    def run(self) -> None:
        """Connect, read, reconnect until `stop` is set or a non-looping file ends."""
        s = self.settings
        yield_to_inference()
        if self._origin is None:
            self._origin = time.time()
        self._set_state(CameraState.CONNECTING, s.safe_url)
        while not self._stop.is_set():
            try:
                next_pass = self._read_once()
            except _Finished:
                self._set_state(CameraState.FINISHED, "end of file")
                return
            if self._stop.is_set():
                break
            if next_pass:
                continue
            if not s.live:
                self._set_state(CameraState.FAILED, f"cannot read {s.safe_url}")
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
        try:
            container = open_container(s.url, s.open_timeout_s, s.read_timeout_s)
        except (av.FFmpegError, OSError) as exc:
            self._set_state(CameraState.OFFLINE, f"cannot open {s.safe_url}: {_describe(exc)}")
            return False
        waiting_since: float | None = None  # monotonic; set once the first frame has arrived
        try:
            with container:
                for decoded in self._frames(container):
                    if waiting_since is None:
                        self._backoff.reset()
                        self._set_state(CameraState.ONLINE, "")
                    self._hand_on(decoded)
                    if self._stop.is_set():
                        return False
                    # From here on the reader waits on the stream (not on a slow consumer).
                    waiting_since = time.monotonic()
                if s.is_rtsp:
                    self._set_state(CameraState.OFFLINE, "stream ended")
                    return False
                self._end_of_file(container)
                return True
        except (av.FFmpegError, OSError) as exc:
            # The read timeout fires as ExitError, or, when it cuts a packet short, as a decode
            # error (InvalidDataError): so a stall is judged by the silence, not the error's type.
            # Before any frame, any failure is a failed connection.
            silent_s = 0.0 if waiting_since is None else time.monotonic() - waiting_since
            if waiting_since is not None and (isinstance(exc, av.ExitError) or silent_s >= s.read_timeout_s):
                self._set_state(CameraState.STALLED, f"no frame for {silent_s:.1f} s ({_describe(exc)})")
            else:
                self._set_state(CameraState.OFFLINE, f"read failed: {_describe(exc)}")
        except _Finished:
            raise
        except Exception as exc:  # a bug must not kill the camera's thread: log it, back off, retry
            log.error("camera %s: unexpected error\n%s", s.camera_id,
                      redact_url("".join(traceback.format_exception(exc))))
            self._set_state(CameraState.OFFLINE, f"unexpected error: {_describe(exc)}")
        return False

    def _frames(self, container: av.container.InputContainer) -> Iterator[DecodedFrame]:
        """The policy's frames of one connection, restricted to [start_s, end_s) and past resume."""
        s = self.settings
        first_s = s.start_s if self._resume_after_s is None else None
        if first_s:
            # Seek to the keyframe before start_s; frames before it are decoded but not handed on.
            container.seek(int(first_s * av.time_base), backward=True)
        # One decoder thread per file: the reader only has to stay ahead of the detector, and extra
        # decoder threads would take cores from inference (measured by scripts/bench_pipeline.py).
        # Slice threads for RTSP: they add no latency, unlike frame threads.
        thread_type = "SLICE" if s.is_rtsp else "NONE"
        for decoded in iter_decoded(container, s.decode, s.detect_fps, thread_type, self._decoded):
            t = decoded.media_time_s
            if first_s is not None and t < first_s:
                continue
            if self._resume_after_s is not None and t <= self._resume_after_s:
                continue
            if s.end_s is not None and t >= s.end_s:
                return
            yield decoded

    def _end_of_file(self, container: av.container.InputContainer) -> None:
        """A file ended cleanly: finish, or start the next pass with the timeline continuing."""
        s = self.settings
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
        image = decoded.to_bgr()
        assert self._origin is not None
        ts = time.time() if s.live else self._origin + timeline_s
        frame = Frame(s.camera_id, self._seq, ts, decoded.media_time_s, image, decoded.keyframe)
        if s.live:
            self._slots.put_latest(frame)
        else:
            while not self._slots.put_wait(frame, self._stop, _PUT_WAIT_SLICE_S):
                if self._stop.is_set() or self._slots.closed:
                    return
        self._seq += 1
        self._stats.frames_handed_on += 1
        self._stats.last_frame_ts = ts
        self._resume_after_s = decoded.media_time_s

    def _sleep_until(self, timeline_s: float) -> None:
        now = time.monotonic()
        if self._pace_anchor is None:
            self._pace_anchor = now - timeline_s
        delay = self._pace_anchor + timeline_s - now
        if delay > 0:
            self._stop.wait(delay)

    def _set_state(self, state: CameraState, reason: str) -> None:
        if state is self._stats.state:
            log.debug("camera %s: still %s: %s", self.settings.camera_id, state, reason)
            return
        self._stats.state = state
        level = logging.INFO if state in (CameraState.ONLINE, CameraState.CONNECTING,
                                          CameraState.FINISHED) else logging.WARNING
        log.log(level, "camera %s: %s%s", self.settings.camera_id, state, f" ({reason})" if reason else "")
        self._on_health(HealthEvent(self.settings.camera_id, state, time.time(), reason))


def yield_to_inference() -> None:
    """Lower this reader thread's scheduling priority (Linux: per-thread nice).

    A reader only has to stay one frame ahead of the detector; at normal priority its decoding
    preempts the inference threads mid-operation and stalls them all. Under overload a live
    camera then drops frames at its mailbox, which is the designed behaviour, never lag.
    """
    with contextlib.suppress(OSError, AttributeError):  # not Linux, or not permitted: run as is
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), READER_NICENESS)


def _describe(exc: BaseException) -> str:
    """An exception as text with any URL's credentials removed (ffmpeg errors quote the URL)."""
    return redact_url(f"{type(exc).__name__}: {exc}")


def _pass_length_s(container: av.container.InputContainer, settings: SourceSettings) -> float:
    """How far one pass over the file advances the timeline: [start_s, min(duration, end_s))."""
    stream = container.streams.video[0]
    if stream.duration is not None and stream.time_base is not None:
        duration_s = float(stream.duration * stream.time_base)
    elif container.duration is not None:
        duration_s = container.duration / av.time_base
    else:
        raise ValueError(f"{settings.safe_url}: cannot loop a file of unknown duration")
    end_s = duration_s if settings.end_s is None else min(duration_s, settings.end_s)
    return end_s - (settings.start_s or 0.0)

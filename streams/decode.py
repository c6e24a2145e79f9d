"""Open a container with explicit timeouts and decode it under a `DecodePolicy`.

The only module that touches PyAV's decoder; it knows nothing of cameras, health or threads.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import av
import av.container
import numpy as np

from common.stage_cpu import Stage, stage_cpu
from streams.decoder_choice import DecodeDevice, packet_decoder
from streams.frame import DecodePolicy
from streams.screen import PictureScreen

# ffmpeg's RTSP socket I/O timeout is in microseconds. TCP interleaving: no UDP packet loss or
# firewall trouble, and a dead server shows up as a socket error rather than silence.
_RTSP_SCHEMES = ("rtsp://", "rtsps://")
# A frame whose media time lies within this of a grid point counts as on it (float pts rounding).
_GRID_EPS = 1e-6


# swscale's filter for the detector's smaller picture. AREA averages what it leaves out (no aliasing on
# fine detail) and costs about the full-size conversion; the choice was checked on the evaluation set (README).
FIT_INTERPOLATION = "AREA"


def fitted_size(size: tuple[int, int], box: tuple[int, int]) -> tuple[int, int] | None:
    """(width, height) of a picture of `size` shrunk to fit `box`, its proportions kept; None if it fits.

    >>> fitted_size((1920, 1080), (640, 640)), fitted_size((704, 576), (640, 640)), fitted_size((640, 360), (640, 640))
    ((640, 360), (640, 524), None)
    """
    (width, height), (box_width, box_height) = size, box
    scale = min(box_width / width, box_height / height)
    if scale >= 1:
        return None
    return max(1, round(width * scale)), max(1, round(height * scale))


def bgr_array(frame: av.VideoFrame, size: tuple[int, int] | None = None,
              interpolation: str = FIT_INTERPOLATION) -> np.ndarray:
    """`frame` as an HxWx3 BGR uint8 array, scaled to `size` (width, height) in the same swscale pass when
    given; counted as conversion CPU. Same size in and out needs no scaling filter: POINT gives the same
    pixels as the default filter there at about a third of the CPU (scripts/bench_pipeline.py)."""
    with stage_cpu(Stage.CONVERSION):
        if size is None:
            return frame.to_ndarray(format="bgr24", interpolation="POINT")
        return frame.reformat(width=size[0], height=size[1], format="bgr24",
                              interpolation=interpolation).to_ndarray()


@dataclass(frozen=True, slots=True)
class DecodedFrame:
    """A decoded picture that the policy hands on, still in decoder memory (no pixel copy yet).

    It satisfies `streams.frame.FullPicture`: a Frame may hold it and convert it only when the full size
    is needed. Held frames keep their pixels while the decoder goes on, even after the container closes
    (PyAV's frames hold reference-counted buffers of the decoder's pool; tests/streams/test_decode.py).
    """

    media_time_s: float
    keyframe: bool
    frame: av.VideoFrame

    @property
    def width(self) -> int:
        return self.frame.width

    @property
    def height(self) -> int:
        return self.frame.height

    def to_bgr(self) -> np.ndarray:
        """Convert to an HxWx3 BGR uint8 array at full size (the one copy/colour conversion per frame)."""
        return bgr_array(self.frame)

    def to_bgr_fitting(self, width: int, height: int) -> np.ndarray | None:
        """The picture shrunk to fit a `width` x `height` box, proportions kept, as BGR: one swscale pass
        straight from the decoder's YUV, no full-size array made. None when it fits already (`to_bgr`)."""
        size = fitted_size((self.width, self.height), (width, height))
        if size is None:
            return None
        return bgr_array(self.frame, size)


@dataclass(slots=True)
class DecodeCounter:
    """Frames the decoder produced, handed on or not (the policy's cost, for stats), keyframes left
    undecoded because they were not wanted (the detector was busy: `iter_decoded`'s `wanted`), the
    packets it refused (damaged data: decoding goes on with the next packet), and where on the media
    timeline the packets read so far end (every packet, decoded or skipped by the policy)."""

    frames: int = 0
    skipped: int = 0
    refused_packets: int = 0
    packets_end_s: float | None = None


class NoVideoStream(ValueError):
    """The source opened, but holds no video to decode (an audio recording, a data file)."""


def video_stream(container: av.container.InputContainer) -> av.VideoStream:
    """The container's first video stream; NoVideoStream when it has none."""
    if not container.streams.video:
        kinds = sorted({stream.type for stream in container.streams})
        raise NoVideoStream("it holds no video stream" + (f", only {' and '.join(kinds)}" if kinds else ""))
    return container.streams.video[0]


def declared_length_s(container: av.container.InputContainer) -> float | None:
    """How long the file says its video runs: the stream's duration, else the container's; None if unsaid."""
    stream = video_stream(container)
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    return container.duration / av.time_base if container.duration is not None else None


class GridSampler:
    """Passes at most one media time per `1/fps` slot of the media timeline.

    Slots are anchored at media time 0, so the same file always yields the same frames whatever
    the decode policy; a time that goes backwards (a looped file, a camera clock reset) restarts
    the grid.

    >>> s = GridSampler(2.0)
    >>> [t for t in (0.0, 0.1, 0.5, 0.6, 1.0, 1.4) if s.take(t)]
    [0.0, 0.5, 1.0]
    """

    def __init__(self, fps: float) -> None:
        if not fps > 0:
            raise ValueError(f"detect_fps must be > 0, got {fps}")
        self._fps = fps
        self._last_slot: int | None = None

    def would_take(self, media_time_s: float) -> bool:
        """Whether `take` would pass this time, without taking it."""
        return self._slot(media_time_s) != self._last_slot

    def take(self, media_time_s: float) -> bool:
        if not self.would_take(media_time_s):
            return False
        self._last_slot = self._slot(media_time_s)
        return True

    def _slot(self, media_time_s: float) -> int:
        return math.floor(media_time_s * self._fps + _GRID_EPS)


def is_rtsp(url: str) -> bool:
    return url.lower().startswith(_RTSP_SCHEMES)


def open_container(url: str, open_timeout_s: float, read_timeout_s: float) -> av.container.InputContainer:
    """Open `url` (RTSP over TCP, or a file) for reading; raises `av.FFmpegError` or `OSError`.

    `timeout=(open, read)` bounds every blocking call inside ffmpeg through its interrupt
    callback; the RTSP socket timeout is a second line of defence at the socket itself.
    """
    options: dict[str, str] = {}
    if is_rtsp(url):
        options = {"rtsp_transport": "tcp", "timeout": str(int(read_timeout_s * 1_000_000))}
    return av.open(url, mode="r", options=options, timeout=(open_timeout_s, read_timeout_s))


def iter_decoded(container: av.container.InputContainer, policy: DecodePolicy, detect_fps: float | None,
                 thread_type: str = "AUTO", counter: DecodeCounter | None = None,
                 screen: PictureScreen | None = None,
                 device: DecodeDevice = DecodeDevice.CPU,
                 wanted: Callable[[float], bool] | None = None) -> Iterator[DecodedFrame]:
    """Decode the first video stream of `container`, yielding the frames `policy` hands on.

    ALL: every frame. SAMPLED: every frame decoded, those on the `1/detect_fps` media-time grid
    handed on. KEYFRAMES: the decoder skips non-key frames outright (the point of the policy:
    about a tenth of the CPU), then the `detect_fps` grid applies if given.
    `thread_type="AUTO"` (frame threads) replays files fastest; live sources may prefer "SLICE",
    which adds no frames of latency. `counter`, if given, counts every decoded frame. `screen`,
    if given, sees every packet and every decoded frame before the sampler and drops those
    without a usable picture; what it raises ends the decoding.
    A packet the decoder refuses is counted and skipped; errors reading the container propagate.
    `device` picks the decoder (streams.decoder_choice): PyAV on the CPU, or NVDEC for "cuda".
    `wanted`, with KEYFRAMES, is asked with a keyframe packet's media time before it is decoded (only for
    one the sampler would take): False leaves the packet undecoded, counted as `skipped`, and tells the
    screen a picture was deferred (a sign of life, not a stall). Keyframes decode on their own, so the
    next one decodes as if nothing had been left out. (The other policies decode every frame the next
    ones refer to, so nothing can be left out there.)
    """
    if policy is DecodePolicy.SAMPLED and detect_fps is None:
        raise ValueError("decode policy 'sampled' needs detect_fps")
    stream = video_stream(container)
    stream.thread_type = thread_type
    if policy is DecodePolicy.KEYFRAMES:
        stream.codec_context.skip_frame = "NONKEY"
    decode = packet_decoder(device, stream, keyframes_only=policy is DecodePolicy.KEYFRAMES)
    sampler = GridSampler(detect_fps) if detect_fps is not None and policy is not DecodePolicy.ALL else None
    time_base = stream.time_base
    rate = stream.average_rate or stream.guessed_rate
    ask = wanted if policy is DecodePolicy.KEYFRAMES else None
    index = 0
    for packet in container.demux(stream):
        if screen is not None:
            screen.packet_arrived()
        if counter is not None and packet.pts is not None and time_base is not None:
            end_s = float((packet.pts + (packet.duration or 0)) * time_base)
            counter.packets_end_s = max(end_s, counter.packets_end_s or end_s)
        if ask is not None and packet.is_keyframe and packet.pts is not None and time_base is not None:
            packet_s = float(packet.pts * time_base)
            if (sampler is None or sampler.would_take(packet_s)) and not ask(packet_s):
                if counter is not None:
                    counter.skipped += 1
                if screen is not None:
                    screen.picture_deferred()
                continue
        try:
            with stage_cpu(Stage.DECODE):
                frames = decode(packet)
        except av.FFmpegError:
            if counter is not None:
                counter.refused_packets += 1
            continue
        for frame in frames:
            if counter is not None:
                counter.frames += 1
            if frame.pts is not None and time_base is not None:
                media_time_s = float(frame.pts * time_base)
            elif rate:
                # No timestamps (rare raw streams): count decoded frames, exact unless KEYFRAMES.
                media_time_s = index / float(rate)
            else:
                raise ValueError("stream has neither timestamps nor a frame rate")
            index += 1
            if screen is not None and not screen.admit(frame, media_time_s):
                continue
            if sampler is not None and not sampler.take(media_time_s):
                continue
            yield DecodedFrame(media_time_s, bool(frame.key_frame), frame)

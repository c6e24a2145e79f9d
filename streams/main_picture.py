"""A camera's main stream when its detector watches the sub-stream (`detect_url`): the main stream's size,
probed when the reader connects; one keyframe of it grabbed on demand for a violation's evidence; and the
sub-stream's picture standing in for the main stream's (its size and proportions)."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import av
import numpy as np

from common.redact import redact_url
from common.stage_cpu import Stage, stage_cpu
from streams.decode import DecodedFrame, bgr_array, fitted_size, open_container, video_stream

log = logging.getLogger(__name__)

# Scaling the sub-stream up to the main size (the fallback evidence): smooth, not blocky.
UPSCALE_INTERPOLATION = "BILINEAR"


class NoMainPicture(Exception):
    """The main stream gave no keyframe in time (or cannot be opened, or holds no video)."""


@dataclass(frozen=True, slots=True)
class MainPicture:
    """A keyframe of the main stream: its BGR pixels and the wall clock when it was decoded."""

    image: np.ndarray
    ts: float


class MainStream:
    """One camera's main stream, opened only when asked. `probe` reads its picture size (the reader, on
    connecting), `grab` decodes the next keyframe (the evidence worker): connect, wait for a keyframe, decode
    it, close, within `open_timeout_s` to connect and `read_timeout_s` more for the keyframe (the read timeout
    exceeds a camera's keyframe interval). A grab that finds another size than the one probed marks the
    size `stale`: the reader then reconnects and probes again. Probing and grabbing may run on two threads.

    >>> main = MainStream("rtsp://admin:pw@10.0.0.7/Streaming/Channels/101", 5.0, 5.0)  # doctest: +SKIP
    >>> main.probe(), main.grab().image.shape  # doctest: +SKIP
    ((1920, 1080), (1080, 1920, 3))
    """

    def __init__(self, url: str, open_timeout_s: float, read_timeout_s: float) -> None:
        self.url = url
        self.open_timeout_s, self.read_timeout_s = open_timeout_s, read_timeout_s
        self._lock = threading.Lock()
        self._size: tuple[int, int] | None = None
        self._stale = False

    def __repr__(self) -> str:
        return f"MainStream({self.safe_url!r}, size={self._size})"

    @property
    def safe_url(self) -> str:
        return redact_url(self.url)

    @property
    def size(self) -> tuple[int, int] | None:
        """(width, height) as last probed; None before the first probe."""
        return self._size

    @property
    def stale(self) -> bool:
        """Whether a grab found a picture of another size than the one probed."""
        return self._stale

    def probe(self) -> tuple[int, int]:
        """Open the stream, read its video's (width, height), close; raises `av.FFmpegError`, `OSError` or
        `NoVideoStream` (a ValueError) as opening a reader's stream does."""
        with open_container(self.url, self.open_timeout_s, self.read_timeout_s) as container:
            context = video_stream(container).codec_context
            size = (int(context.width), int(context.height))
        if not min(size) > 0:
            raise ValueError("its video stream does not say its picture size")
        with self._lock:
            self._size, self._stale = size, False
        return size

    def grab(self) -> MainPicture:
        """The next keyframe of the stream as BGR; NoMainPicture when none came in time (or the stream cannot
        be opened): the caller's evidence then falls back on the sub-stream's picture."""
        deadline = time.monotonic() + self.open_timeout_s + self.read_timeout_s
        try:
            with open_container(self.url, self.open_timeout_s, self.read_timeout_s) as container:
                stream = video_stream(container)
                stream.codec_context.skip_frame = "NONKEY"
                for packet in container.demux(stream):
                    if time.monotonic() > deadline:
                        raise NoMainPicture(f"no keyframe within {self.open_timeout_s + self.read_timeout_s:g} s")
                    if not packet.is_keyframe:
                        continue
                    with stage_cpu(Stage.DECODE):
                        frames = packet.decode()
                    for frame in frames:
                        image = bgr_array(frame)
                        self._seen_size((frame.width, frame.height))
                        return MainPicture(image, time.time())
        except (av.FFmpegError, OSError, ValueError) as exc:
            raise NoMainPicture(f"{type(exc).__name__}: {redact_url(str(exc))}") from exc
        raise NoMainPicture("the stream ended before a keyframe")

    def _seen_size(self, size: tuple[int, int]) -> None:
        with self._lock:
            if self._size is not None and size != self._size and not self._stale:
                log.warning("main stream %s: its picture is %dx%d now, %dx%d when probed; the reader probes again",
                            self.safe_url, *size, *self._size)
                self._stale = True


@dataclass(frozen=True, slots=True)
class SubStreamPicture:
    """A sub-stream's decoded picture standing in for the main stream's: `width` and `height` are the main
    stream's (what boxes, zones and evidence are in), `to_bgr` the sub-stream's pixels scaled up to them (the
    evidence's fallback). It satisfies `streams.frame.FullPicture`.

    A D1 sub-stream (704x576) is anamorphic: its pixels are not square. Scaled to the main stream's own
    proportions (640x360 for a 16:9 main stream), objects keep their shape; letterboxed as 704x576 they would
    be squashed to about 0.7 of their width.
    """

    decoded: DecodedFrame
    main_size: tuple[int, int]

    @property
    def width(self) -> int:
        return self.main_size[0]

    @property
    def height(self) -> int:
        return self.main_size[1]

    def to_bgr(self) -> np.ndarray:
        """The sub-stream's picture at the main stream's size, as BGR."""
        return bgr_array(self.decoded.frame, self.main_size, UPSCALE_INTERPOLATION)

    def detect_image(self, box: tuple[int, int] | None) -> np.ndarray:
        """The detector's picture: the main stream's proportions, as large as fits `box` (the model's input)
        or, without one, the sub-stream's own size; one swscale pass from the decoder's YUV."""
        size = fitted_size(self.main_size, box or (self.decoded.width, self.decoded.height)) or self.main_size
        return bgr_array(self.decoded.frame, size)

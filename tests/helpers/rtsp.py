"""A real RTSP server for tests: scripts/lib/rtsp_camera.py's, which needs Debian's python3 with `gi`."""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Self

import av

from scripts.lib import rtsp_camera
from scripts.lib.private_services import free_port
from scripts.lib.rtsp_camera import SYSTEM_PYTHON, gi_rtsp_available
from tests.conftest import unavailable

__all__ = ["RtspServer", "RtspViewer", "free_port", "gi_rtsp_available", "require_rtsp_server"]


def require_rtsp_server() -> None:
    """Without GStreamer's RTSP server bindings the test fails under CI and is skipped elsewhere."""
    if not gi_rtsp_available():
        unavailable("GStreamer RTSP server (python3-gi, gir1.2-gst-rtsp-server-1.0)",
                    RuntimeError(f"{SYSTEM_PYTHON} cannot import GstRtspServer"))


class RtspServer(rtsp_camera.RtspServer):
    """The stand-in camera of scripts/lib/rtsp_camera.py; a test that starts it fails under CI (and is
    skipped elsewhere) when the RTSP server cannot run here.

    >>> with RtspServer(clip, user="admin", password="secret") as server:  # doctest: +SKIP
    ...     server.url   # 'rtsp://admin:secret@127.0.0.1:40123/cam'
    """

    def start(self) -> Self:
        require_rtsp_server()
        return super().start()


class RtspViewer:
    """Another client watching a stream, as a recorder beside the reader would: it keeps the
    server's shared timeline running while the reader under test reconnects (with no client
    left, the server stops the media and would start the file afresh for the next one).

    >>> with RtspServer(clip) as server, RtspViewer(server.url):  # doctest: +SKIP
    ...     ...  # a reader that reconnects resumes the timeline where it now is
    """

    def __init__(self, url: str, timeout_s: float = 15.0) -> None:
        self.url = url
        self.timeout_s = timeout_s
        self._stop = threading.Event()
        self._watching = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._watch, name="rtsp-viewer", daemon=True)

    def _watch(self) -> None:
        try:
            with av.open(self.url, options={"rtsp_transport": "tcp"}, timeout=self.timeout_s) as container:
                for _ in container.demux(container.streams.video[0]):  # packets only: nothing to decode
                    self._watching.set()
                    if self._stop.is_set():
                        return
        except av.FFmpegError as exc:
            self._error = exc
        finally:
            self._watching.set()

    def __enter__(self) -> RtspViewer:
        self._thread.start()
        if not self._watching.wait(self.timeout_s) or self._error is not None:
            raise RuntimeError(f"viewer could not watch the stream: {self._error}")
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()
        self._thread.join(self.timeout_s)

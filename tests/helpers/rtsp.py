"""A real RTSP server for tests: scripts/rtsp_server.py under Debian's python3 (which has `gi`)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
from functools import cache
from pathlib import Path
from types import TracebackType

import av

from aibrain.assets import PROJECT_ROOT
from tests.conftest import unavailable

SYSTEM_PYTHON = "/usr/bin/python3"
SERVER_SCRIPT = PROJECT_ROOT / "scripts" / "rtsp_server.py"


@cache
def gi_rtsp_available() -> bool:
    """True when the system python can import GStreamer's RTSP server bindings."""
    probe = ("import gi; gi.require_version('GstRtspServer', '1.0'); "
             "from gi.repository import GstRtspServer")
    try:
        return subprocess.run([SYSTEM_PYTHON, "-c", probe], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def require_rtsp_server() -> None:
    """Without GStreamer's RTSP server bindings the test fails under CI and is skipped elsewhere."""
    if not gi_rtsp_available():
        unavailable("GStreamer RTSP server (python3-gi, gir1.2-gst-rtsp-server-1.0)",
                    RuntimeError(f"{SYSTEM_PYTHON} cannot import GstRtspServer"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RtspServer:
    """Serves `clip` at rtsp://127.0.0.1:PORT/MOUNT; `kill()` and `start()` again keep the port.

    >>> with RtspServer(clip, user="admin", password="secret") as server:  # doctest: +SKIP
    ...     server.url   # 'rtsp://admin:secret@127.0.0.1:40123/cam'
    """

    def __init__(self, clip: Path, *, mount: str = "/cam", user: str | None = None,
                 password: str | None = None, loop: bool = True, port: int | None = None,
                 ready_timeout_s: float = 15.0) -> None:
        self.clip = clip
        self.mount = mount
        self.user = user
        self.password = password
        self.loop = loop
        self.port = port or free_port()
        self.ready_timeout_s = ready_timeout_s
        self._proc: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        """The stream's URL, with the credentials when the server requires them."""
        auth = f"{self.user}:{self.password}@" if self.user is not None else ""
        return f"rtsp://{auth}127.0.0.1:{self.port}{self.mount}"

    def url_with(self, user: str, password: str) -> str:
        return f"rtsp://{user}:{password}@127.0.0.1:{self.port}{self.mount}"

    @property
    def pid(self) -> int:
        if self._proc is None:
            raise RuntimeError("RTSP server is not running")
        return self._proc.pid

    def start(self) -> RtspServer:
        """Start the server (again, on the same port) and wait for its READY line."""
        require_rtsp_server()
        if self._proc is not None and self._proc.poll() is None:
            raise RuntimeError("RTSP server already running")
        cmd = [SYSTEM_PYTHON, str(SERVER_SCRIPT), "--port", str(self.port), "--mount", self.mount,
               "--file", str(self.clip)]
        if self.loop:
            cmd.append("--loop")
        if self.user is not None and self.password is not None:
            cmd += ["--user", self.user, "--password", self.password]
        deadline = time.monotonic() + self.ready_timeout_s
        while True:
            # stderr to a file: a pipe nobody reads could fill up and block the server.
            with tempfile.TemporaryFile("w+") as errors:
                self._proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=errors, text=True)
                assert self._proc.stdout is not None
                line = self._proc.stdout.readline()  # READY, or "" if it exited
                if line.startswith("READY "):
                    return self
                self._proc.wait(timeout=5)
                errors.seek(0)
                err = errors.read()
            # A port just freed by kill() can take a moment to bind again.
            if time.monotonic() > deadline or "cannot listen" not in err:
                raise RuntimeError(f"RTSP server did not start: {err.strip()}")
            time.sleep(0.2)

    def kill(self) -> None:
        """SIGKILL: the camera vanishes without closing its sessions."""
        self._end(signal.SIGKILL)

    def pause(self) -> None:
        """SIGSTOP: the connection stays open but nothing more arrives (a frozen camera)."""
        os.kill(self.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.pid, signal.SIGCONT)

    def stop(self) -> None:
        """SIGTERM and wait; the server exits cleanly."""
        self._end(signal.SIGTERM)

    def _end(self, signum: int) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        if signum == signal.SIGTERM:
            os.kill(proc.pid, signal.SIGCONT)  # a paused server cannot handle SIGTERM
        proc.send_signal(signum)
        try:
            proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()

    def __enter__(self) -> RtspServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


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

"""A real RTSP server serving a clip, as a stand-in camera for tests and scripts:
scripts/rtsp_server.py under Debian's python3 (which has GStreamer's `gi` bindings)."""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
from functools import cache
from pathlib import Path
from types import TracebackType
from typing import Self
from urllib.parse import urlsplit

from .private_services import free_port

SYSTEM_PYTHON = "/usr/bin/python3"
SERVER_SCRIPT = Path(__file__).resolve().parent.parent / "rtsp_server.py"


@cache
def gi_rtsp_available() -> bool:
    """True when the system python can import GStreamer's RTSP server bindings."""
    probe = ("import gi; gi.require_version('GstRtspServer', '1.0'); "
             "from gi.repository import GstRtspServer")
    try:
        return subprocess.run([SYSTEM_PYTHON, "-c", probe], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


class RtspServer:
    """Serves `clip` at rtsp://127.0.0.1:PORT/MOUNT; `kill()` and `start()` again keep the port.
    With `mounts` > 1, one process serves it at MOUNT01 … MOUNTNN (`urls`), each on its own timeline,
    delayed by up to `stagger_s` so that their keyframes do not all arrive at once.

    >>> with RtspServer(clip, user="admin", password="secret") as server:  # doctest: +SKIP
    ...     server.url   # 'rtsp://admin:secret@127.0.0.1:40123/cam'
    >>> with RtspServer(clip, mounts=24, stagger_s=1.0) as server:  # doctest: +SKIP
    ...     server.urls[-1]   # 'rtsp://127.0.0.1:40124/cam24'
    """

    def __init__(self, clip: Path, *, mount: str = "/cam", user: str | None = None,
                 password: str | None = None, loop: bool = True, port: int | None = None,
                 ready_timeout_s: float = 15.0, mounts: int = 1, stagger_s: float = 0.0) -> None:
        self.clip = clip
        self.mount = mount
        self.user = user
        self.password = password
        self.loop = loop
        self.port = port or free_port()
        self.ready_timeout_s = ready_timeout_s
        self.mounts = mounts
        self.stagger_s = stagger_s
        self._paths = [mount]  # as the server's READY line names them
        self._proc: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        """The (first) stream's URL, with the credentials when the server requires them."""
        return self.urls[0]

    @property
    def urls(self) -> list[str]:
        """Every mount's URL, with the credentials when the server requires them."""
        auth = f"{self.user}:{self.password}@" if self.user is not None else ""
        return [f"rtsp://{auth}127.0.0.1:{self.port}{path}" for path in self._paths]

    def url_with(self, user: str, password: str) -> str:
        return f"rtsp://{user}:{password}@127.0.0.1:{self.port}{self._paths[0]}"

    @property
    def pid(self) -> int:
        if self._proc is None:
            raise RuntimeError("RTSP server is not running")
        return self._proc.pid

    def start(self) -> Self:
        """Start the server (again, on the same port) and wait for its READY line."""
        if self._proc is not None and self._proc.poll() is None:
            raise RuntimeError("RTSP server already running")
        cmd = [SYSTEM_PYTHON, str(SERVER_SCRIPT), "--port", str(self.port), "--mount", self.mount,
               "--file", str(self.clip), "--mounts", str(self.mounts), "--stagger-s", str(self.stagger_s)]
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
                line = self._proc.stdout.readline()  # READY and the URLs, or "" if it exited
                if line.startswith("READY "):
                    self._paths = [urlsplit(url).path for url in line.split()[1:]]
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

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

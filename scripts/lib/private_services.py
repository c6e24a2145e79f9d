"""Private instances of the real services, for tests and scripts that stop and start them: a RabbitMQ
node and a PostgreSQL cluster of their own (on their own loopback ports and folders), so stopping one
disturbs nothing else on the machine. Both need root (to run them as their service users) and
Debian's packages."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from types import TracebackType
from typing import Self

PG_BIN = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"))), Path("/usr/lib/postgresql/bin"))


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def can_run_private_services() -> str | None:
    """Why private services cannot run here, or None when they can."""
    if os.geteuid() != 0:
        return "private RabbitMQ/PostgreSQL instances need root (to run them as their service users)"
    missing = [tool for tool in ("rabbitmq-server", "rabbitmqctl", "runuser") if shutil.which(tool) is None]
    if not (PG_BIN / "pg_ctl").exists():
        missing.append(str(PG_BIN / "pg_ctl"))
    return f"missing {', '.join(missing)}" if missing else None


def service_folder(kind: str, owner: str) -> Path:
    """A fresh folder under the system temp dir that the service user can reach (pytest's tmp_path
    lies under a root-only folder)."""
    folder = Path(tempfile.mkdtemp(prefix=f"aibrain-{kind}-"))
    folder.chmod(0o755)
    shutil.chown(folder, owner, owner)
    return folder


def remove_folder(folder: Path) -> None:
    """Remove a service's folder; a server that just exited may still be deleting its lock files."""
    for _ in range(20):
        shutil.rmtree(folder, ignore_errors=True)
        if not folder.exists():
            return
        time.sleep(0.1)


def _run(cmd: list[str], env: dict[str, str] | None = None, timeout: float = 120) -> None:
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {done.stdout[-2000:]}{done.stderr[-2000:]}")


class PrivateService:
    """A service of one's own: started on entry; on exit stopped (if not already) and its folder
    removed."""

    folder: Path

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        with contextlib.suppress(RuntimeError):  # already stopped by its user
            self.stop()
        remove_folder(self.folder)


class PrivateRabbitMQ(PrivateService):
    """A RabbitMQ node of its own: `stop()` halts it (clients see the broker gone), `start()` boots it
    again on the same port with the same data, as a broker restart does.

    >>> with PrivateRabbitMQ() as broker:  # doctest: +SKIP
    ...     broker.url   # 'amqp://guest:guest@127.0.0.1:40123/%2F'
    """

    def __init__(self) -> None:
        self.folder = folder = service_folder("rabbitmq", "rabbitmq")
        self.port = free_port()
        self.node = f"aibrain-test-{uuid.uuid4().hex[:8]}@localhost"
        self.url = f"amqp://guest:guest@127.0.0.1:{self.port}/%2F"
        (folder / "rabbitmq.conf").write_text(f"listeners.tcp.local = 127.0.0.1:{self.port}\n"
                                              "loopback_users = none\n", encoding="utf-8")
        (folder / "enabled_plugins").write_text("[].\n", encoding="utf-8")
        for child in folder.iterdir():
            shutil.chown(child, "rabbitmq", "rabbitmq")
        self._env = os.environ | {
            "RABBITMQ_NODENAME": self.node, "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(free_port()), "RABBITMQ_MNESIA_BASE": str(folder / "mnesia"),
            "RABBITMQ_LOG_BASE": str(folder / "log"), "RABBITMQ_CONFIG_FILE": str(folder / "rabbitmq.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(folder / "enabled_plugins"),
            "RABBITMQ_PID_FILE": str(folder / "node.pid")}

    def start(self, timeout_s: float = 120) -> Self:
        _run(["rabbitmq-server", "-detached"], self._env)
        # The node registers with epmd a moment after -detached returns; until then await_startup fails.
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                _run(["rabbitmqctl", "-n", self.node, "await_startup", "--timeout", "60"], self._env, timeout=90)
                return self
            except RuntimeError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)

    def stop(self) -> None:
        _run(["rabbitmqctl", "-n", self.node, "stop"], self._env)


class PrivatePostgres(PrivateService):
    """A PostgreSQL cluster of its own (trust auth, no fsync: test data only).

    >>> with PrivatePostgres() as db:  # doctest: +SKIP
    ...     db.url   # 'postgresql+psycopg://postgres@127.0.0.1:40124/postgres'
    """

    def __init__(self) -> None:
        self.folder = service_folder("postgres", "postgres")
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        self._data = self.folder / "data"
        _run(["runuser", "-u", "postgres", "--", str(PG_BIN / "initdb"), "-D", str(self._data), "-U", "postgres",
              "--auth=trust", "-E", "UTF8", "--no-sync"])

    def _ctl(self, *args: str) -> None:
        _run(["runuser", "-u", "postgres", "--", str(PG_BIN / "pg_ctl"), "-D", str(self._data), "-w", *args])

    def start(self) -> Self:
        self._ctl("-o", f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off",
                  "-l", str(self.folder / "server.log"), "start")
        return self

    def stop(self) -> None:
        """A fast shutdown: open connections are cut, as when the database host goes away."""
        self._ctl("-m", "fast", "stop")

"""TLS for broker tests: a throw-away CA made with the openssl command, and socat as a real TLS
terminator in front of the plain RabbitMQ port (as stunnel or a load balancer would be)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.helpers.rtsp import free_port


@dataclass(frozen=True)
class Pki:
    ca: Path  # signs the server and client certificates
    other_ca: Path  # signs nothing of ours: a client trusting it must refuse the server
    server_cert: Path  # for IP 127.0.0.1 only
    server_key: Path
    client_cert: Path
    client_key: Path


def _openssl(folder: Path, *args: str) -> None:
    subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True, timeout=60)


def _self_signed(folder: Path, name: str, subject: str) -> None:
    _openssl(folder, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", f"{name}.key", "-out", f"{name}.pem", "-days", "2", "-subj", subject)


def _signed(folder: Path, name: str, subject: str, extensions: str) -> None:
    _openssl(folder, "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", subject)
    (folder / f"{name}.ext").write_text(extensions + "\n")
    _openssl(folder, "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-set_serial", str(int.from_bytes(os.urandom(8), "big")), "-days", "2",
             "-extfile", f"{name}.ext", "-out", f"{name}.pem")


def make_test_pki(folder: Path) -> Pki:
    _self_signed(folder, "ca", "/CN=AI Brain test CA")
    _self_signed(folder, "other-ca", "/CN=Somebody else's CA")
    _signed(folder, "server", "/CN=127.0.0.1", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth")
    _signed(folder, "client", "/CN=aibrain-client", "extendedKeyUsage=clientAuth")
    return Pki(folder / "ca.pem", folder / "other-ca.pem", folder / "server.pem", folder / "server.key",
                   folder / "client.pem", folder / "client.key")


@contextmanager
def tls_terminator(pki: Pki, upstream: tuple[str, int], log: Path, *,
                   require_client_cert: bool = False) -> Iterator[int]:
    """Accept TLS on 127.0.0.1:PORT (yielded) and forward the plain bytes to `upstream`."""
    socat = shutil.which("socat")
    if socat is None:
        raise FileNotFoundError("socat is not installed (Debian package socat)")
    port = free_port()
    verify = f"cafile={pki.ca},verify=1" if require_client_cert else "verify=0"
    listen = f"OPENSSL-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork,cert={pki.server_cert},key={pki.server_key},{verify}"
    with log.open("ab") as errors:
        process = subprocess.Popen([socat, listen, f"TCP:{upstream[0]}:{upstream[1]}"], stdout=subprocess.DEVNULL,
                                   stderr=errors, start_new_session=True)  # its own group: forked children too
    try:
        _wait_for_listener(port, process, log)
        yield port
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)


def _wait_for_listener(port: int, process: subprocess.Popen[bytes], log: Path, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"socat exited with {process.returncode}: {log.read_text(errors='replace')}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"socat did not listen on port {port} within {timeout_s:g} s")

"""Connection parameters for every RabbitMQ client of the project (relay, feedback consumer,
worker client, provisioning): one place for timeouts, heartbeats and TLS."""

from __future__ import annotations

import re
import ssl
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pika
import pika.exceptions


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """Files for an `amqps://` broker: the CA that signed the broker's certificate (None: the
    system's trusted CAs) and, for a broker that asks for one, a client certificate and its key
    (`key_file` None: the key is in `cert_file`)."""

    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None


def tls_context(files: TlsFiles) -> ssl.SSLContext:
    """A client context that checks the broker's certificate chain and host name.

    Raises OSError for a missing file and ssl.SSLError for one that holds no usable PEM.
    """
    context = ssl.create_default_context(cafile=files.ca_file)
    if files.cert_file is not None:
        context.load_cert_chain(files.cert_file, files.key_file)
    return context


def connection_parameters(url: str, *, tls: TlsFiles | None = None, timeout_s: float = 5.0,
                          heartbeat_s: int = 30) -> pika.URLParameters:
    """Parameters for `url` with bounded blocking: every connect, read and blocked-connection wait
    has a timeout, and heartbeats detect a dead peer. Retries are the caller's, with its backoff.

    An `amqps://` URL gets TLS with certificate and host name verification (`tls` names a private
    CA and a client certificate); `tls` with a plain `amqp://` URL is refused rather than ignored.
    """
    params = pika.URLParameters(url)
    if urlsplit(url).scheme.lower() == "amqps":
        params.ssl_options = pika.SSLOptions(tls_context(tls or TlsFiles()), server_hostname=params.host)
    elif tls is not None:
        raise ValueError("TLS files are set but the broker URL is plain amqp://; use amqps://")
    params.socket_timeout = timeout_s
    params.stack_timeout = timeout_s * 2
    params.blocked_connection_timeout = 60  # a broker in memory alarm must not hang a client
    params.heartbeat = heartbeat_s
    params.connection_attempts = 1
    return params


def connection_failure(exc: BaseException) -> str:
    """Why a connection failed, in words fit for an operator: pika wraps the cause (a refused
    certificate, login or port) in its own errors, or only quotes it in a "stream lost" text."""
    exc = _innermost(exc)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS: the broker's certificate was refused: {exc.verify_message}"
    if isinstance(exc, ssl.SSLError):
        return f"TLS handshake failed: {exc.reason or exc}"
    if isinstance(exc, pika.exceptions.ProbableAuthenticationError | pika.exceptions.AuthenticationError):
        return "the broker refused the user name or password"
    alert = _TLS_ALERT.search(str(exc))
    if alert:  # the TLS peer closed the stream, e.g. it wants a client certificate or refused ours
        return f"TLS: the broker ended the handshake: {alert['text'].strip()}"
    return f"{type(exc).__name__}: {exc}"


_TLS_ALERT = re.compile(r"\[SSL: [A-Z0-9_]+\] (?P<text>[^(]+)")


def _innermost(exc: BaseException) -> BaseException:
    while True:
        inner = getattr(exc, "exception", None)  # pika's connector phase errors
        if inner is None and exc.args and isinstance(exc.args[0], BaseException):
            inner = exc.args[0]
        if not isinstance(inner, BaseException):
            return exc
        exc = inner

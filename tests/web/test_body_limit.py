"""Request bodies are capped before the multipart parser spools them to disk: a body declared longer
than the cap, or sent chunked with no length, never reaches a route."""

from __future__ import annotations

import socket

from aibrain.web.body_limit import MAX_BODY_BYTES
from aibrain.web.workbench import Workbench
from tests.web.workbench_client import served


def raw_post(base_url: str, headers: dict[str, str], body: bytes = b"", path: str = "/logout") -> bytes:
    """The status line of a POST sent by hand (no client library adds or checks headers)."""
    host, port = base_url.removeprefix("http://").split(":")
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}", "Connection: close",
             *(f"{name}: {value}" for name, value in headers.items())]
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        answer = connection.recv(65536)
    return answer.split(b"\r\n", 1)[0]


def test_a_body_declared_over_the_cap_is_refused_before_it_is_sent(bench: Workbench) -> None:
    with served(bench) as url:
        status = raw_post(url, {"Content-Length": str(MAX_BODY_BYTES + 1), "Content-Type": "multipart/form-data"})
    assert b" 413 " in status, status


def test_a_chunked_body_is_refused(bench: Workbench) -> None:
    with served(bench) as url:
        status = raw_post(url, {"Transfer-Encoding": "chunked", "Content-Type": "multipart/form-data"},
                          b"5\r\nhello\r\n0\r\n\r\n")
    assert b" 411 " in status, status


def test_a_body_within_the_cap_reaches_the_routes(bench: Workbench) -> None:
    with served(bench) as url:
        status = raw_post(url, {"Content-Length": "5", "Content-Type": "application/x-www-form-urlencoded"}, b"a=b&c")
    assert b" 401 " in status, status  # the route's own answer: signed out

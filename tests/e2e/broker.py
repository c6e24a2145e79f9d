"""Reading what `aibrain run` published, as any AMQP consumer would."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable

import pika
import pika.exceptions

from tests.conftest import AMQP_URL

Delivered = tuple[pika.BasicProperties, dict]


def drain(queue: str, wait_s: float) -> list[Delivered]:
    """Every message on `queue`, waiting up to `wait_s` for the first and 2 s for each further one."""
    connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    channel = connection.channel()
    messages: list[Delivered] = []
    deadline = time.monotonic() + wait_s
    for method, properties, body in channel.consume(queue, inactivity_timeout=1):
        if method is None:
            if messages or time.monotonic() > deadline:
                break
            continue
        messages.append((properties, json.loads(body)))
        channel.basic_ack(method.delivery_tag)
    channel.cancel()
    connection.close()
    return messages


def wait_until(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.5)


def wait_for_queue(queue: str, run: subprocess.Popen, wait_s: float) -> None:
    """Until the running pipeline has declared `queue`."""
    connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    channel = connection.channel()
    deadline = time.monotonic() + wait_s
    try:
        while True:
            assert run.poll() is None, "aibrain run exited early"
            try:
                channel.queue_declare(queue, passive=True)
                return
            except pika.exceptions.ChannelClosedByBroker:
                channel = connection.channel()
                if time.monotonic() > deadline:
                    raise AssertionError(f"queue {queue} never declared") from None
                time.sleep(0.5)
    finally:
        connection.close()


def drain_when_declared(queue: str, run: subprocess.Popen, wait_s: float) -> list[Delivered]:
    """Wait for the relay to declare the queue, then drain the first messages from it."""
    started = time.monotonic()
    wait_for_queue(queue, run, wait_s)
    return drain(queue, wait_s=max(1.0, wait_s - (time.monotonic() - started)))

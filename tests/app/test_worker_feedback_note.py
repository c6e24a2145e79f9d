"""A note the pipeline would refuse (control characters) is refused by `aibrain worker` before it
is sent, with the field and the reason, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pika
import pytest

from routing.broker.topology import Topology
from tests.app.test_worker_cli import send_alert, worker, worker_site
from tests.conftest import AMQP_URL

pytestmark = pytest.mark.integration
__all__ = ["worker_site"]  # a fixture, used by name


def test_a_note_with_control_characters_is_refused_before_it_is_sent(
        worker_site: tuple[Path, Topology], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    site, topology = worker_site
    send_alert(topology, "东门", "gate")
    assert worker(site, tmp_path, "accept", "1", "--note", "on my way\x1b[2J") == 2
    out = capsys.readouterr().out
    assert "cannot send accept: note: Value error, holds control character U+001B" in out, out
    with pika.BlockingConnection(pika.URLParameters(AMQP_URL)) as connection:
        sent = connection.channel().queue_declare(topology.feedback_queue, passive=True).method.message_count
    assert sent == 0

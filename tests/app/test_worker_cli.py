"""`aibrain worker` as a grid worker runs it, against a real RabbitMQ: whatever a camera or zone is
named and whatever is typed, it shows the inbox and keeps going, never a traceback."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pika
import pytest

from aibrain.cli import main
from routing.broker.topology import Topology, declare_topology, delete_topology
from routing.messages.alert import AlertMessage, DueBy
from tests.configs.test_load_site import good_site, write_site
from tests.conftest import AMQP_URL, unavailable

pytestmark = pytest.mark.integration

MARKUP = "[/] [bold]东门[/bold] [link=http://x]"  # rich markup, valid and not


@pytest.fixture
def worker_site(tmp_path: Path) -> Iterator[tuple[Path, Topology]]:
    """A site whose worker w-001 has a queue of its own on the real broker (deleted afterwards)."""
    topology = Topology(prefix=f"wcli-{uuid.uuid4().hex[:8]}", worker_ids=("w-001",))
    try:
        connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    except pika.exceptions.AMQPError as exc:
        unavailable("RabbitMQ", exc)
    channel = connection.channel()
    declare_topology(channel, topology)
    site = good_site() | {"queue_prefix": topology.prefix}
    site["cameras"][0]["name"] = MARKUP
    try:
        yield write_site(tmp_path, site), topology
    finally:
        delete_topology(channel, topology)
        connection.close()


def send_alert(topology: Topology, camera_name: str, zone: str) -> str:
    now = datetime.now(UTC)
    incident_id = str(uuid.uuid4())
    alert = AlertMessage(
        dispatch_id=str(uuid.uuid4()), incident_id=incident_id, kind="non_motor_parking",
        kind_label_zh="非机动车乱停放 [/]", grid_id="G-01", grid_name="[red]网格", worker_id="w-001",
        worker_name="张伟", camera_id="cam-01", camera_name=camera_name, zone=zone, location=None,
        first_seen=now, confirmed_at=now, confidence=0.9, bbox=(1, 2, 3, 4), frame_size=(640, 480),
        snapshot="/evidence/[/]x.jpg", object_kind="non_motor_vehicle", class_name="bicycle", track_id=1,
        due_by=DueBy(accept=now + timedelta(minutes=15), resolve=now + timedelta(hours=2)))
    with pika.BlockingConnection(pika.URLParameters(AMQP_URL)) as connection:
        connection.channel().basic_publish(
            "", topology.worker_queue("w-001"), alert.to_json().encode(),
            pika.BasicProperties(message_id=alert.dispatch_id, type="alert", delivery_mode=2))
    return incident_id


def worker(site: Path, tmp_path: Path, *command: str) -> int:
    return main(["worker", "--id", "w-001", "--config", str(site), "--broker", AMQP_URL,
                 "--inbox", str(tmp_path / "inbox.json"), *command])


def test_names_holding_rich_markup_are_shown_as_written(worker_site: tuple[Path, Topology], tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    site, topology = worker_site
    send_alert(topology, MARKUP, "gate[/]")
    for _ in range(2):  # the alert stays in the inbox: every later listing shows it too
        assert worker(site, tmp_path, "inbox") == 0
        out = capsys.readouterr().out
        assert "[/]" in out and "[bold]" in out and "gate[/]" in out, out


def test_interactive_mode_explains_bad_input_and_goes_on(worker_site: tuple[Path, Topology], tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    site, topology = worker_site
    send_alert(topology, "东门", "gate")
    typed = 'accept "1 on my way\naccept [/]\nresolve [bold] done\nquit\n'  # unbalanced quote, then markup
    monkeypatch.setattr("sys.stdin", io.StringIO(typed))
    assert worker(site, tmp_path) == 0
    out = capsys.readouterr().out
    assert "cannot read that line: No closing quotation" in out, out
    assert "no single incident matches '[/]'" in out and "'[bold]'" in out, out

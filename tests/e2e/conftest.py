"""Fixtures of the closed-loop end-to-end tests: the camera's clips, a queue prefix whose topology is
deleted afterwards, and `aibrain run` processes stopped (and their exit checked) at the end."""

from __future__ import annotations

import signal
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pika
import pytest

from detector.backends.onnx_backend import OnnxBackend
from routing.broker.topology import Topology, delete_topology
from tests.conftest import AMQP_URL
from tests.e2e.loop_site import CHAIN
from tests.helpers.media import make_still_clip, paint_out, read_image


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory, shared_bike_still: Path, yolo_onnx: Path) -> dict[str, Path]:
    """The parked bikes, and the same pavement with every bike painted out (the detector finds none)."""
    folder = tmp_path_factory.mktemp("loop-clips")
    backend = OnnxBackend(yolo_onnx)
    detections = backend.detect([read_image(shared_bike_still)])[0]
    bikes = detections.select(np.isin(detections.class_id, [1, 3]) & (detections.confidence >= 0.1))
    empty_still = paint_out(shared_bike_still, [tuple(box) for box in bikes.xyxy.tolist()], folder / "empty.png")
    empty = backend.detect([read_image(empty_still)])[0]
    assert not np.isin(empty.class_id, [1, 3]).any(), "the painted-out pavement must hold no bike"
    return {"bikes": make_still_clip(shared_bike_still, folder / "bikes.mp4", seconds=60),
            "empty": make_still_clip(empty_still, folder / "empty.mp4", seconds=60)}


@pytest.fixture
def prefix() -> Iterator[str]:
    name = f"loop{uuid.uuid4().hex[:8]}"
    yield name
    connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    delete_topology(connection.channel(), Topology(prefix=name, worker_ids=("w-001",), escalation_targets=tuple(CHAIN)))
    connection.close()


@pytest.fixture
def running(tmp_path: Path) -> Iterator[list[subprocess.Popen]]:
    """`aibrain run` processes the test started: each must stop cleanly on SIGTERM."""
    runs: list[subprocess.Popen] = []
    yield runs
    for run in runs:
        run.send_signal(signal.SIGTERM)
        assert run.wait(timeout=60) == 0, (tmp_path / "aibrain.log").read_text()[-3000:]

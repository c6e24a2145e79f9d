"""A snapshot that cannot be written costs the picture, never the incident (issue 8, point 2).

The evidence folder lies under a regular file, so creating it fails even for root (permission bits
would not stop the root user the tests run as).
"""

from __future__ import annotations

import logging
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from detector.backends.onnx_backend import OnnxBackend
from detector.inference_loop import InferenceLoop
from detector.violation import Violation
from routing.incidents.database import make_engine, session_factory
from routing.incidents.migrate import upgrade_to_head
from routing.incidents.tables import Incident, OutboxMessage
from streams.frame import Frame
from streams.mailbox import LatestFrameSlots
from tests.app.test_cli import aibrain
from tests.configs.test_load_site import EXAMPLES
from tests.detector.test_inference_loop import camera_state
from tests.routing.helpers import DAYTIME, make_dispatcher, make_topology


def unwritable_folder(tmp_path: Path) -> Path:
    blocker = tmp_path / "mount-gone"
    blocker.write_text("a file where the evidence folder's parent should be")
    return blocker / "evidence"


def test_an_unwritable_evidence_folder_still_stores_and_dispatches_the_incident(
        onnx_backend: OnnxBackend, still_image: np.ndarray, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    db_url = f"sqlite:///{tmp_path / 'aibrain.db'}"
    upgrade_to_head(db_url)
    engine = make_engine(db_url)
    sessions = session_factory(engine)
    dispatcher = make_dispatcher(sessions, make_topology("evidence-failure"))
    handed: list[Violation] = []

    def on_violation(violation: Violation, _frame: Frame) -> None:
        handed.append(violation)
        dispatcher.dispatch(violation)

    slots, stop = LatestFrameSlots(), threading.Event()
    loop = InferenceLoop(onnx_backend, slots, {"cam-01": camera_state("cam-01", onnx_backend.class_names)},
                         on_violation, stop, max_batch=1, evidence_dir=unwritable_folder(tmp_path))
    with caplog.at_level(logging.INFO, logger="detector"):
        thread = loop.start()
        t0 = DAYTIME.timestamp()
        for i in range(45):  # a still camera at 1 fps; the rule's dwell is 30 s
            assert slots.put_wait(Frame("cam-01", i, t0 + i, float(i), still_image, i == 0), stop, timeout_s=30.0)
        slots.close()
        thread.join(60.0)
    assert not thread.is_alive()

    assert handed, "the parked bikes were confirmed and handed on"
    assert all(v.snapshot is None and v.frame is None for v in handed), "no frame where the snapshot has no folder"
    assert loop.stats.evidence_failures == len(handed) == loop.stats.cameras["cam-01"].evidence_failures
    assert loop.stats.cameras["cam-01"].errors == 0
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1, "one ERROR for the burst, not one per violation"
    assert "cam-01" in errors[0].getMessage() and "mount-gone" in errors[0].getMessage()
    with sessions() as session:
        incidents = session.scalars(select(Incident)).all()
        assert {i.id for i in incidents} == {v.id for v in handed}
        assert all(i.snapshot is None and i.frame is None for i in incidents)
        assert len(session.scalars(select(OutboxMessage)).all()) == len(handed)
    engine.dispose()


def test_check_config_refuses_an_evidence_folder_that_cannot_be_written(tmp_path: Path) -> None:
    for name in ("site.yaml", "grids.geojson"):
        shutil.copy(EXAMPLES / name, tmp_path / name)
    site = tmp_path / "site.yaml"
    text = site.read_text(encoding="utf-8")
    site.write_text(text.replace("evidence_dir: var/evidence", "evidence_dir: mount-gone/evidence"), encoding="utf-8")
    unwritable_folder(tmp_path)
    check = aibrain("check-config", str(site))
    assert check.returncode == 2, check.stdout + check.stderr
    assert "evidence_dir" in check.stderr and "mount-gone/evidence" in check.stderr, check.stderr

    (tmp_path / "mount-gone").unlink()
    check = aibrain("check-config", str(site))
    assert check.returncode == 0, check.stderr
    assert not (tmp_path / "mount-gone").exists(), "the probe leaves nothing behind"

"""The intake's spool file: what it keeps reads back the same; a line it cannot read is parked."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from routing.incidents.spool import Spool, SpoolItem
from streams.health import CameraState, HealthEvent
from tests.routing.helpers import DAYTIME, violation


def test_items_read_back_as_written_and_an_unreadable_line_is_parked(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    items: list[SpoolItem] = [dataclasses.replace(violation(), zone="东门\x00", snapshot=None),
                              HealthEvent("cam-01", CameraState.STALLED, DAYTIME.timestamp(), "no picture")]
    assert spool.save(items) == 2
    assert spool.load() == items

    with spool.path.open("a", encoding="utf-8") as out:
        out.write('{"type": "violation", "item": {"camera_id": "cam-01"}}\n{"type": "nonsense"\n')
    assert spool.load() == items
    parked = [json.loads(line) for line in spool.parked_path.read_text(encoding="utf-8").splitlines()]
    assert [entry["line"][:30] for entry in parked] == ['{"type": "violation", "item": ', '{"type": "nonsense"']
    assert all(entry["reason"] for entry in parked)

    assert spool.save([]) == 0
    assert not spool.path.exists() and spool.load() == []

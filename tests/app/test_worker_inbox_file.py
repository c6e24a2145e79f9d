"""The worker's inbox file: one written before the inbox kept typed messages still loads, into the
message models and status enums, and is saved again exactly as it was written."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from aibrain.worker.inbox import InboxError, InboxStep, WorkerInbox
from routing.incidents.tables import IncidentAction, IncidentStatus
from routing.messages.alert import AlertMessage, DueBy
from routing.messages.feedback import FeedbackAction
from routing.messages.update import IncidentUpdate

SHANGHAI = timezone(timedelta(hours=8))
INCIDENT = "7d0c5a0e-0000-4000-8000-000000000001"
ALERT: dict[str, Any] = {
    "schema_version": 1, "dispatch_id": "d-1", "incident_id": INCIDENT, "kind": "non_motor_parking",
    "kind_label_zh": "非机动车乱停放", "grid_id": "G-01", "grid_name": "第一网格", "worker_id": "w-001",
    "worker_name": "张伟", "camera_id": "cam-01", "camera_name": "东门", "zone": "gate",
    "location": {"lon": 121.47, "lat": 31.23}, "first_seen": "2026-05-01T01:00:01.250000+00:00",
    "confirmed_at": "2026-05-01T01:00:05.250000+00:00", "confidence": 0.91, "bbox": [1.0, 2.0, 30.5, 40.0],
    "frame_size": [640, 480], "snapshot": "/evidence/a.jpg", "object_kind": "non_motor_vehicle",
    "class_name": "bicycle", "track_id": 3,
    "due_by": {"accept": "2026-05-01T01:15:05.250000+00:00", "resolve": "2026-05-01T03:00:05.250000+00:00"}}
# As the inbox wrote it when it kept alerts as dicts and statuses as text (json.dump, indent=1).
OLD_FILE: dict[str, Any] = {
    "entries": {INCIDENT: {
        "incident_id": INCIDENT, "alert": ALERT, "status": "accepted", "updated_at": "2026-05-01T09:03:00+08:00",
        "history": [{"action": "accept", "status": "accepted", "actor": "w-001", "at": "2026-05-01T09:03:00+08:00",
                     "note": "on my way"}],
        "sent": "resolve"}},
    "seen": ["d-1", "u-1"]}


def update_body(action: str, status: str, at: datetime, note: str | None = None, worker_id: str = "w-001",
                due_by: DueBy | None = None) -> bytes:
    return IncidentUpdate(
        update_id=f"u-{action}", incident_id=INCIDENT, action=action, from_status=None, status=status, actor="w-001",
        at=at, note=note, kind=ALERT["kind"], kind_label_zh=ALERT["kind_label_zh"], grid_id="G-01",
        worker_id=worker_id, camera_id="cam-01", camera_name="东门", zone="gate", snapshot=None, escalation_level=0,
        escalated_to=None, due_by=due_by).to_json().encode()


def test_an_inbox_file_written_before_loads_into_messages_and_enums_and_saves_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "inbox.json"
    written = json.dumps(OLD_FILE, ensure_ascii=False, indent=1)
    path.write_text(written, encoding="utf-8")
    inbox = WorkerInbox.load(path)
    [entry] = inbox.pending()
    assert entry.alert == AlertMessage.model_validate(ALERT) and entry.alert.camera_name == "东门"
    assert entry.alert.confirmed_at == datetime(2026, 5, 1, 1, 0, 5, 250000, tzinfo=UTC)
    assert entry.status is IncidentStatus.ACCEPTED and entry.sent is FeedbackAction.RESOLVE
    assert entry.history == [InboxStep(action=IncidentAction.ACCEPT, status=IncidentStatus.ACCEPTED, actor="w-001",
                                       at=datetime(2026, 5, 1, 9, 3, tzinfo=SHANGHAI), note="on my way")]
    assert inbox.seen == ["d-1", "u-1"]
    inbox.save()
    assert path.read_text(encoding="utf-8") == written, "saved in the same shape, times with their own offsets"


def test_updates_move_the_status_and_clear_the_action_they_confirm(tmp_path: Path) -> None:
    inbox = WorkerInbox.load(tmp_path / "inbox.json")
    assert inbox.apply("alert", "d-1", AlertMessage.model_validate(ALERT).to_json().encode())
    assert inbox.entries[INCIDENT].status is IncidentStatus.DISPATCHED and inbox.entries[INCIDENT].open
    inbox.entries[INCIDENT].sent = FeedbackAction.ACCEPT  # as `aibrain worker accept` marks it
    accepted = datetime(2026, 5, 1, 9, 3, tzinfo=SHANGHAI)
    assert inbox.apply("incident_update", "u-1", update_body("accept", "accepted", accepted))
    assert not inbox.apply("incident_update", "u-1", update_body("accept", "accepted", accepted)), "a copy"
    entry = inbox.entries[INCIDENT]
    assert (entry.status, entry.updated_at, entry.sent) == (IncidentStatus.ACCEPTED, accepted, None)
    assert inbox.apply("incident_update", "u-2", update_body("verify", "verified", accepted + timedelta(hours=1)))
    assert not entry.open and inbox.pending() == []
    inbox.save()
    assert WorkerInbox.load(inbox.path).entries == inbox.entries


def test_the_centre_s_actions_move_deadlines_hand_the_incident_on_or_close_it(tmp_path: Path) -> None:
    inbox = WorkerInbox.load(tmp_path / "inbox.json")
    alert = AlertMessage.model_validate(ALERT)
    inbox.apply("alert", "d-1", alert.to_json().encode())
    at = datetime(2026, 5, 1, 9, 10, tzinfo=SHANGHAI)
    later = DueBy(accept=alert.due_by.accept + timedelta(minutes=30), resolve=alert.due_by.resolve)
    inbox.apply("incident_update", "u-1", update_body("extend", "dispatched", at, "road works", due_by=later))
    entry = inbox.entries[INCIDENT]
    assert entry.open and entry.deadlines == later, "the extended deadline, not the alert's"

    inbox.apply("incident_update", "u-2", update_body("reassign", "dispatched", at, worker_id="w-002"))
    assert (entry.reassigned_to, entry.open, inbox.pending()) == ("w-002", False, []), "no longer this worker's"
    assert entry.history[-1].action is IncidentAction.REASSIGN
    inbox.save()
    assert WorkerInbox.load(inbox.path).entries[INCIDENT].reassigned_to == "w-002", "kept in the file"

    handed_back = alert.model_copy(update={"dispatch_id": "d-2"})
    inbox.apply("alert", "d-2", handed_back.to_json().encode())
    assert [e.incident_id for e in inbox.pending()] == [INCIDENT] and entry.reassigned_to is None
    assert entry.deadlines == alert.due_by, "the new alert's deadlines"

    inbox.apply("incident_update", "u-3", update_body("false_alarm", "false_alarm", at, "a delivery, loading"))
    assert entry.status is IncidentStatus.FALSE_ALARM and not entry.open and inbox.pending() == []


def test_a_file_that_is_not_an_inbox_is_refused_with_its_path(tmp_path: Path) -> None:
    path = tmp_path / "inbox.json"
    path.write_text(json.dumps({"entries": {INCIDENT: OLD_FILE["entries"][INCIDENT] | {"status": "lost"}},
                                "seen": []}), encoding="utf-8")
    with pytest.raises(InboxError, match="inbox.json: not a readable inbox file"):
        WorkerInbox.load(path)

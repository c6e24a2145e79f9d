"""The phone app's JSON API over HTTP, on SQLite and PostgreSQL: the inbox holds the worker's own incidents
only, with the fields the page reads; each action is applied once per Idempotency-Key (one audit row, one
outbox message, one incident event), refused in words when the incident moved on, and guarded by the
sign-in, the worker role and the CSRF token; photos that cannot be taken leave nothing behind."""

from __future__ import annotations

import io
import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import event, func, select

from aibrain.web.phone_cards import WorkerRef, read_inbox
from aibrain.web.workbench import Workbench
from common.clock import utc_now
from routing.access.access_tables import AuditEntry
from routing.incidents.field_tables import IncidentPhoto
from routing.incidents.field_work import FALSE_ALARM_LABELS, FalseAlarmReason
from routing.incidents.tables import Incident, IncidentAction, IncidentEvent, IncidentStatus
from tests.web.workbench_client import (
    add_person,
    dispatch_incident,
    http_client,
    last_outbox_id,
    sign_in,
    stored_incident,
)

CARD_FIELDS = {"id", "kind", "kind_label", "status", "status_label", "section", "camera_id", "camera_name", "zone",
               "grid_id", "grid_name", "map_url", "confirmed_at", "accept_by", "resolve_by", "deadline",
               "evidence_url", "photos", "extension", "actions", "last_step"}
ACTIONS = ("accept", "resolve", "false-alarm", "extension")


def jpeg(width: int = 64, height: int = 48) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 40, 30)).save(out, "JPEG")
    return out.getvalue()


def snapshot(bench: Workbench) -> Path:
    """A real evidence JPEG where the pipeline writes them."""
    folder = bench.site.path(bench.site.config.evidence_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{uuid.uuid4().hex}.jpg"
    path.write_bytes(jpeg())
    return path


class Phone:
    """A signed-in phone: each action sent with the CSRF header and a fresh (or given) Idempotency-Key."""

    def __init__(self, client: TestClient, username: str) -> None:
        self.client = client
        self.csrf = sign_in(client, username)

    def inbox(self) -> dict[str, Any]:
        response = self.client.get("/m/api/inbox")
        assert response.status_code == 200, response.text
        return cast(dict[str, Any], response.json())

    def send(self, incident_id: str, action: str, data: dict[str, str] | None = None,
             photos: list[tuple[str, bytes]] | None = None, key: str | None = None,
             headers: dict[str, str] | None = None) -> Any:
        sent = {"X-CSRF-Token": self.csrf, "Idempotency-Key": key or str(uuid.uuid4())} if headers is None else headers
        files = [("photos", (name, data, "image/jpeg")) for name, data in photos or []]
        return self.client.post(f"/m/api/incidents/{incident_id}/{action}", data=data or {}, files=files or None,
                                headers=sent)


def body_of(action: str) -> dict[str, Any]:
    """A valid request for each action."""
    bodies: dict[str, dict[str, Any]] = {
        "accept": {}, "resolve": {"data": {"note": "已清理"}, "photos": [("done.jpg", jpeg())]},
        "false-alarm": {"data": {"reason": "not_violation"}},
        "extension": {"data": {"minutes": "60", "reason": "店主不在"}}}
    return bodies[action]


def count(bench: Workbench, what: Any, *where: Any) -> int:
    with bench.sessions() as session:
        return session.scalar(select(func.count()).select_from(what).where(*where)) or 0


def photo_files(bench: Workbench) -> list[Path]:
    folder = bench.site.path(bench.site.config.evidence_dir) / "photos"
    return sorted(path for path in folder.rglob("*") if path.is_file()) if folder.exists() else []


@pytest.fixture
def workers(bench: Workbench) -> Workbench:
    add_person(bench, "zhangwei", "worker", "grid:G-01", worker_id="w-001")
    add_person(bench, "lina", "worker", "grid:G-02", worker_id="w-002")
    add_person(bench, "leader", "leader", "grid:G-01")
    return bench


def test_the_inbox_holds_the_workers_own_incidents_with_the_pages_fields(workers: Workbench) -> None:
    bench = workers
    mine = dispatch_incident(bench, "cam-01", snapshot=snapshot(bench))
    theirs = dispatch_incident(bench, "cam-02")
    with http_client(bench) as client:
        phone = Phone(client, "zhangwei")
        inbox = phone.inbox()
        assert inbox["worker"] == {"id": "w-001", "name": "张伟"}
        assert inbox["open_count"] == 1 and inbox["now"].endswith("+08:00")
        [card] = inbox["incidents"]
        assert set(card) == CARD_FIELDS
        assert card["id"] == mine and card["status"] == "dispatched" and card["section"] == "open"
        assert card["status_label"] == "已派遣" and card["kind_label"]
        assert (card["grid_id"], card["grid_name"], card["camera_id"]) == ("G-01", "第一网格", "cam-01")
        assert card["map_url"].startswith("geo:31.232,121.472?q=31.232,121.472(")
        assert card["evidence_url"] == f"/evidence/{mine}"
        assert client.get(card["evidence_url"]).status_code == 200
        assert card["actions"] == ["accept", "resolve", "false_alarm", "extension"]
        assert card["deadline"]["which"] == "accept" and card["deadline"]["at"] == card["accept_by"]
        assert card["confirmed_at"].endswith("+08:00") and card["accept_by"].endswith("+08:00")
        assert card["photos"] == [] and card["extension"] is None
        assert card["last_step"]["action"] == "dispatch" and card["last_step"]["label"] == "派遣"

        for action in ACTIONS:  # another worker's incident does not exist for this one
            refused = phone.send(theirs, action, **body_of(action))
            assert (refused.status_code, refused.json()["code"]) == (404, "not_found"), (action, refused.text)
        assert stored_incident(bench, theirs).status is IncidentStatus.DISPATCHED
        assert photo_files(bench) == []

    with http_client(bench) as client:
        other = Phone(client, "lina")
        assert [card["id"] for card in other.inbox()["incidents"]] == [theirs]
        assert other.send(theirs, "resolve", **body_of("resolve")).status_code == 200
        [photo] = other.inbox()["incidents"][0]["photos"]
        assert client.get(photo["url"]).status_code == 200
    with http_client(bench) as client:
        Phone(client, "zhangwei")
        assert client.get(photo["url"]).status_code == 404  # another worker's photo


def test_signed_out_and_non_workers_are_refused(workers: Workbench) -> None:
    bench = workers
    incident_id = dispatch_incident(bench, "cam-01")
    with http_client(bench) as client:
        assert client.get("/m/api/inbox").status_code == 401
        assert client.post(f"/m/api/incidents/{incident_id}/accept").status_code == 401
        leader = Phone(client, "leader")
        refused = client.get("/m/api/inbox")
        assert (refused.status_code, refused.json()["code"]) == (403, "not_worker")
        for action in ACTIONS:
            refused = leader.send(incident_id, action, **body_of(action))
            assert (refused.status_code, refused.json()["code"]) == (403, "not_worker"), refused.text
            assert "网格员" in refused.json()["detail"]
    assert stored_incident(bench, incident_id).status is IncidentStatus.DISPATCHED


def test_actions_need_the_csrf_token_and_a_well_formed_key(workers: Workbench) -> None:
    bench = workers
    incident_id = dispatch_incident(bench, "cam-01")
    with http_client(bench) as client:
        phone = Phone(client, "zhangwei")
        key = str(uuid.uuid4())
        for headers, status, code in [({"Idempotency-Key": key}, 403, "csrf"),
                                      ({"Idempotency-Key": key, "X-CSRF-Token": "forged"}, 403, "csrf"),
                                      ({"X-CSRF-Token": phone.csrf}, 400, "bad_key"),
                                      ({"X-CSRF-Token": phone.csrf, "Idempotency-Key": "short"}, 400, "bad_key"),
                                      ({"X-CSRF-Token": phone.csrf, "Idempotency-Key": "bad key/../x"}, 400,
                                       "bad_key")]:
            for action in ACTIONS:
                refused = phone.send(incident_id, action, headers=headers, **body_of(action))
                assert (refused.status_code, refused.json()["code"]) == (status, code), (headers, refused.text)
    assert stored_incident(bench, incident_id).status is IncidentStatus.DISPATCHED
    assert count(bench, AuditEntry, AuditEntry.action.like("incident_%")) == 0
    assert photo_files(bench) == []


def test_accept_then_resolve_with_a_photo_applied_once(workers: Workbench) -> None:
    bench = workers
    woken: list[None] = []
    bench.after_resolve = lambda: woken.append(None)
    incident_id = dispatch_incident(bench, "cam-01")
    with http_client(bench) as client:
        phone = Phone(client, "zhangwei")
        accepted = phone.send(incident_id, "accept")
        assert accepted.status_code == 200, accepted.text
        assert accepted.json()["outcome"] == "applied" and accepted.json()["status"] == "accepted"
        again = phone.send(incident_id, "accept").json()
        assert (again["outcome"], again["status"]) == ("no_change", "accepted")
        card = phone.inbox()["incidents"][0]
        assert card["deadline"]["which"] == "resolve" and "accept" not in card["actions"]

        before = last_outbox_id(bench)
        key = str(uuid.uuid4())
        resolved = phone.send(incident_id, "resolve", data={"note": "已挪走"}, photos=[("IMG_0001.jpg", jpeg())],
                              key=key)
        assert resolved.status_code == 200, resolved.text
        assert resolved.json()["outcome"] == "applied" and resolved.json()["status"] == "resolved"
        assert resolved.json()["message"]

        def one_of_each() -> None:
            assert stored_incident(bench, incident_id).status is IncidentStatus.RESOLVED
            assert count(bench, IncidentEvent, IncidentEvent.incident_id == incident_id,
                         IncidentEvent.action == IncidentAction.RESOLVE) == 1
            assert count(bench, AuditEntry, AuditEntry.action == "incident_resolve",
                         AuditEntry.target == f"incident:{incident_id}") == 1
            assert last_outbox_id(bench) == before + 1
            assert len(photo_files(bench)) == 1 and woken == [None]

        one_of_each()
        with bench.sessions() as session:
            [photo] = session.scalars(select(IncidentPhoto).where(IncidentPhoto.incident_id == incident_id)).all()
            assert (photo.sent_by, photo.worker_id) == ("zhangwei", "w-001")

        duplicate = phone.send(incident_id, "resolve", data={"note": "已挪走"}, photos=[("IMG_0001.jpg", jpeg())],
                               key=key)
        assert duplicate.status_code == 200, duplicate.text
        assert (duplicate.json()["outcome"], duplicate.json()["status"]) == ("duplicate", "resolved")
        one_of_each()

        closed = phone.send(incident_id, "resolve", photos=[("IMG_0002.jpg", jpeg())])
        assert (closed.status_code, closed.json()["code"]) == (409, "closed"), closed.text
        assert "已处置" in closed.json()["detail"]
        one_of_each()

        card = phone.inbox()["incidents"][0]
        assert card["section"] == "checking" and card["actions"] == [] and card["deadline"] is None
        assert card["photos"] == [{"id": photo.id, "url": f"/photos/{photo.id}"}]
        assert card["last_step"]["action"] == "resolve" and card["last_step"]["note"] == "已挪走"

        with bench.sessions() as session, session.begin():  # the camera looks again: the violation is gone
            incident = session.get(Incident, incident_id)
            assert incident is not None
            bench.loop.act(session, incident, IncidentAction.VERIFY, "verifier", utc_now())
        card = phone.inbox()["incidents"][0]
        assert (card["section"], card["status_label"], card["actions"]) == ("closed", "核查通过", [])
        verified = phone.send(incident_id, "false-alarm", data={"reason": "duplicate"})
        assert (verified.status_code, verified.json()["code"]) == (409, "closed"), verified.text
        assert "核查通过" in verified.json()["detail"]


def test_photos_that_cannot_be_taken_leave_the_incident_and_the_disk_as_they_were(workers: Workbench) -> None:
    bench = workers
    woken: list[None] = []
    bench.after_resolve = lambda: woken.append(None)
    incident_id = dispatch_incident(bench, "cam-01")
    before = last_outbox_id(bench)
    with http_client(bench) as client:
        phone = Phone(client, "zhangwei")
        not_image = phone.send(incident_id, "resolve", photos=[("good.jpg", jpeg()), ("合同.pdf", b"%PDF-1.4 ...")])
        assert (not_image.status_code, not_image.json()["code"]) == (415, "not_image"), not_image.text
        assert "合同.pdf" in not_image.json()["detail"]
        too_many = phone.send(incident_id, "resolve", photos=[(f"{n}.jpg", jpeg()) for n in range(4)])
        assert (too_many.status_code, too_many.json()["code"]) == (422, "too_many"), too_many.text
        none = phone.send(incident_id, "resolve", data={"note": "已清理"})
        assert (none.status_code, none.json()["code"]) == (422, "no_photo"), none.text
    assert stored_incident(bench, incident_id).status is IncidentStatus.DISPATCHED
    assert last_outbox_id(bench) == before and woken == [] and photo_files(bench) == []
    assert count(bench, IncidentPhoto) == 0


def test_a_refused_resolve_discards_its_photos(workers: Workbench) -> None:
    bench = workers
    incident_id = dispatch_incident(bench, "cam-01")
    with http_client(bench) as client:
        phone = Phone(client, "zhangwei")
        assert phone.send(incident_id, "false-alarm", data={"reason": "duplicate"}).status_code == 200
        refused = phone.send(incident_id, "resolve", photos=[("done.jpg", jpeg())])
        assert (refused.status_code, refused.json()["code"]) == (409, "closed"), refused.text
        assert "误报" in refused.json()["detail"]
    assert photo_files(bench) == [] and count(bench, IncidentPhoto) == 0


def test_an_incident_reassigned_away_is_refused_with_the_time(workers: Workbench) -> None:
    bench = workers
    incident_id = dispatch_incident(bench, "cam-01")
    with http_client(bench) as client:
        asked = Phone(client, "zhangwei").send(incident_id, "extension", **body_of("extension"))
        assert asked.status_code == 200, asked.text
    with bench.sessions() as session, session.begin():
        incident = session.get(Incident, incident_id)
        assert incident is not None
        bench.interventions.reassign(session, incident, "w-002", "user:centre", utc_now(), "人手调配")
    with http_client(bench) as client:
        phone = Phone(client, "zhangwei")
        for action in ACTIONS:
            refused = phone.send(incident_id, action, **body_of(action))
            assert (refused.status_code, refused.json()["code"]) == (409, "reassigned"), refused.text
            assert "改派" in refused.json()["detail"]
        assert phone.inbox()["incidents"] == []
    assert photo_files(bench) == []
    with http_client(bench) as client:  # the new worker has it, without the request that lapsed with the move
        [card] = Phone(client, "lina").inbox()["incidents"]
        assert card["id"] == incident_id and card["extension"] is None and "extension" in card["actions"]


@pytest.mark.parametrize("reason", list(FalseAlarmReason))
def test_a_false_alarm_with_each_reason(workers: Workbench, reason: FalseAlarmReason) -> None:
    bench = workers
    incident_id = dispatch_incident(bench, "cam-01")
    with http_client(bench) as client:
        phone = Phone(client, "zhangwei")
        if reason is FalseAlarmReason.OTHER:
            refused = phone.send(incident_id, "false-alarm", data={"reason": "other", "text": "  "})
            assert (refused.status_code, refused.json()["code"]) == (422, "invalid"), refused.text
            assert stored_incident(bench, incident_id).status is IncidentStatus.DISPATCHED
        closed = phone.send(incident_id, "false-alarm", data={"reason": reason.value, "text": "车是执法车辆"})
        assert closed.status_code == 200, closed.text
        assert (closed.json()["outcome"], closed.json()["status"]) == ("applied", "false_alarm")
        assert stored_incident(bench, incident_id).false_alarm_reason == reason.value  # wrong_object: hard negative
        card = phone.inbox()["incidents"][0]
        assert (card["section"], card["status_label"], card["actions"]) == ("closed", "误报", [])
        assert reason.value in card["last_step"]["note"]
        unknown = phone.send(incident_id, "false-alarm", data={"reason": "bored"})
        assert (unknown.status_code, unknown.json()["code"]) == (422, "invalid")
    assert count(bench, AuditEntry, AuditEntry.action == "incident_false_alarm") == 1
    with bench.sessions() as session:  # a day after it closed, it has left the inbox
        later = read_inbox(session, bench.site, WorkerRef(id="w-001", name="张伟"), utc_now() + timedelta(hours=25))
    assert later.incidents == []


def test_an_extension_request_waits_in_the_card_and_only_one_at_a_time(workers: Workbench) -> None:
    bench = workers
    incident_id = dispatch_incident(bench, "cam-01")
    with http_client(bench) as client:
        phone = Phone(client, "zhangwei")
        asked = phone.send(incident_id, "extension", data={"minutes": "90", "reason": "店主不在，明早处理"})
        assert asked.status_code == 200, asked.text
        assert (asked.json()["outcome"], asked.json()["status"]) == ("applied", "dispatched")
        card = phone.inbox()["incidents"][0]
        assert card["extension"]["status"] == "pending" and card["extension"]["minutes"] == 90
        assert card["extension"]["reason"] == "店主不在，明早处理" and card["extension"]["decision_note"] is None
        assert "extension" not in card["actions"] and card["last_step"]["label"] == "申请延期"
        again = phone.send(incident_id, "extension", data={"minutes": "30", "reason": "再等等"})
        assert (again.status_code, again.json()["code"]) == (422, "invalid"), again.text
        for minutes in ("0", "abc"):
            wrong = phone.send(incident_id, "extension", data={"minutes": minutes, "reason": "x"})
            assert (wrong.status_code, wrong.json()["code"]) == (422, "invalid"), wrong.text
    assert count(bench, AuditEntry, AuditEntry.action == "incident_request_extension") == 1


def test_the_inbox_orders_open_then_checking_then_closed_in_four_queries(workers: Workbench) -> None:
    bench = workers
    start = utc_now() - timedelta(hours=1)
    ids = [dispatch_incident(bench, "cam-01", confirmed_at=start + timedelta(minutes=minute))
           for minute in range(6)]
    dispatch_incident(bench, "cam-02")
    with http_client(bench) as client:
        phone = Phone(client, "zhangwei")
        assert phone.send(ids[5], "false-alarm", data={"reason": "wrong_place"}).status_code == 200
        assert phone.send(ids[4], "resolve", photos=[("a.jpg", jpeg()), ("b.jpg", jpeg())]).status_code == 200
        assert phone.send(ids[3], "extension", data={"minutes": "30", "reason": "等车主"}).status_code == 200
        assert phone.send(ids[0], "accept").status_code == 200
        inbox = phone.inbox()
    assert [card["id"] for card in inbox["incidents"]] == [ids[3], ids[2], ids[1], ids[0], ids[4], ids[5]]
    assert [card["section"] for card in inbox["incidents"]] == ["open"] * 4 + ["checking", "closed"]
    assert inbox["open_count"] == 4 and len(inbox["incidents"][4]["photos"]) == 2

    statements: list[str] = []

    def seen(*call: Any) -> None:
        statements.append(call[2])

    with bench.sessions() as session:
        engine = session.get_bind()
        event.listen(engine, "before_cursor_execute", seen)
        try:
            read_inbox(session, bench.site, WorkerRef(id="w-001", name="张伟"), utc_now())
        finally:
            event.remove(engine, "before_cursor_execute", seen)
    assert len([sql for sql in statements if sql.lstrip().upper().startswith("SELECT")]) == 4, statements


def test_the_same_resolve_sent_at_once_from_several_threads_is_applied_once(workers: Workbench) -> None:
    bench = workers
    incident_id = dispatch_incident(bench, "cam-01")
    key = str(uuid.uuid4())
    with http_client(bench) as client:
        phone = Phone(client, "zhangwei")
        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(lambda _n: phone.send(incident_id, "resolve", key=key, **body_of("resolve")),
                                    range(4)))
    assert all(answer.status_code == 200 for answer in answers), [answer.text for answer in answers]
    assert sorted(answer.json()["outcome"] for answer in answers) == ["applied"] + ["duplicate"] * 3
    assert count(bench, IncidentEvent, IncidentEvent.incident_id == incident_id,
                 IncidentEvent.action == IncidentAction.RESOLVE) == 1
    assert count(bench, IncidentPhoto) == 1 and len(photo_files(bench)) == 1


def test_the_phone_offers_every_false_alarm_reason_with_its_label(workers: Workbench) -> None:
    with http_client(workers) as client:
        Phone(client, "zhangwei")
        page = client.get("/m/")
    assert page.status_code == 200
    select = page.text.split('id="false-alarm-reason"', 1)[1].split("</select>", 1)[0]
    assert re.findall(r'<option value="(\w+)">([^<]+)</option>', select) == [
        (reason.value, FALSE_ALARM_LABELS[reason]) for reason in FalseAlarmReason]

"""What grid workers send from the phone app, as the workbench shows it, on SQLite and PostgreSQL: a request
for more time (延期申请) on the incident's page and in the list (its filter, the 待审批延期 count, the row's
marker); a leader approving it (the promised deadline moves by the minutes asked or their own figure, the
approver is the step's actor, an audit row, an update to the worker's queue) or refusing it (a reason
required, the status kept); decisions by the wrong people refused; the workers' photos on the detail;
a worker's `/` sending them to the phone app; and the live feed telling a worker of the reassignment that
took their incident away, and nothing of other workers'."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from aibrain.broker_setup.broker_settings import site_topology
from aibrain.web.events import visible_to
from aibrain.web.incident_view import ACTION_LABELS
from aibrain.web.live_feed import incident_event
from aibrain.web.signed_in import signed_in_as
from aibrain.web.workbench import Workbench
from routing.access.access_tables import AuditEntry, User
from routing.incidents.field_tables import ExtensionRequest, RequestStatus
from routing.incidents.field_work import StoredPhoto
from routing.incidents.tables import Incident, IncidentAction, IncidentEvent, IncidentStatus, OutboxMessage
from tests.web.test_incidents import snapshot_jpeg
from tests.web.workbench_client import (
    CSRF_INPUT,
    PASSWORD,
    add_person,
    dispatch_incident,
    http_client,
    last_outbox_id,
    sign_in,
    stored_incident,
)

ROW = re.compile(r'<tr data-incident="([^"]+)">')
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


def listed(client: TestClient, query: str = "") -> list[str]:
    response = client.get(f"/incidents?{query}")
    assert response.status_code == 200, response.text[:2000]
    return ROW.findall(response.text)


def ask(bench: Workbench, incident_id: str, minutes: float = 90, reason: str = "店主不在，明早处理",
        worker: str = "zhangwei", worker_id: str = "w-001") -> int:
    """The worker's request for more time, as the phone app makes it; its id."""
    with bench.sessions() as session, session.begin():
        incident = session.get(Incident, incident_id)
        assert incident is not None
        asked = bench.extension_requests.request(session, incident, worker_id, f"user:{worker}", bench.clock(),
                                                 minutes, reason)
        return asked.id


def request_row(bench: Workbench, request_id: int) -> ExtensionRequest:
    with bench.sessions() as session:
        found = session.get(ExtensionRequest, request_id)
        assert found is not None
        session.expunge(found)
        return found


def outbox_after(bench: Workbench, last_id: int) -> list[OutboxMessage]:
    with bench.sessions() as session:
        return list(session.scalars(select(OutboxMessage).where(OutboxMessage.id > last_id).order_by(OutboxMessage.id)))


def steps(bench: Workbench, incident_id: str) -> list[IncidentEvent]:
    with bench.sessions() as session:
        return list(session.scalars(select(IncidentEvent).where(IncidentEvent.incident_id == incident_id)
                                    .order_by(IncidentEvent.id)))


def audited(bench: Workbench) -> list[tuple[str, str, str]]:
    with bench.sessions() as session:
        rows = session.execute(select(AuditEntry.action, AuditEntry.username, AuditEntry.target)
                               .where(AuditEntry.action.startswith("incident_")).order_by(AuditEntry.id)).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def worker_sign_in(client: TestClient, username: str) -> str:
    """Sign a worker in through the form; their CSRF token from the incident list (their `/` is the phone app)."""
    form = client.get("/login")
    token = CSRF_INPUT.search(form.text)
    assert token, form.text
    response = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token.group(1),
                                           "next": "/"}, follow_redirects=False)
    assert response.status_code == 303, response.text
    page = CSRF_META.search(client.get("/incidents").text)
    assert page
    return page.group(1)


@pytest.fixture
def people(bench: Workbench) -> None:
    add_person(bench, "zhangwei", "worker", "grid:G-01", worker_id="w-001")
    add_person(bench, "leader", "leader", "community:外滩街道/汇丰社区", display_name="刘组长")  # G-01


def test_a_request_shows_on_the_detail_and_in_the_list(bench: Workbench, people: None) -> None:
    asked_on = dispatch_incident(bench, "cam-01")
    quiet = dispatch_incident(bench, "cam-01")
    other_street = dispatch_incident(bench, "cam-03")
    request_id = ask(bench, asked_on, 90, "店主不在，明早处理 <b>bold</b>")
    ask(bench, other_street, 30, "outside the leader's street", worker="wangfang", worker_id="w-003")
    with http_client(bench) as client:
        sign_in(client, "leader")
        page = client.get(f"/incidents/{asked_on}").text
        panel = page[page.index('id="extension-requests"'):]
        assert f'data-request="{request_id}" data-status="pending"' in panel
        assert "待审批 pending" in panel and "申请 asked <strong>90 分钟 min</strong>" in panel
        assert "张伟 (w-001) · zhangwei" in panel
        assert "店主不在，明早处理 &lt;b&gt;bold&lt;/b&gt;" in panel
        assert f'action="/incidents/{asked_on}/extension/{request_id}/approve"' in panel
        assert re.search(r'id="approve-minutes"[^>]*value="90"', panel)
        assert f'action="/incidents/{asked_on}/extension/{request_id}/refuse"' in panel
        assert "申请延期 extension requested" in page  # its timeline step
        assert 'id="extension-requests"' not in client.get(f"/incidents/{quiet}").text

        assert listed(client, "extension=pending") == [asked_on]  # the other street's request is not theirs
        whole = client.get("/incidents").text
        assert re.search(r'id="awaiting-extensions"[^>]*data-count="1">待审批延期 <span class="count">1</span>', whole)
        row = whole[whole.index(f'<tr data-incident="{asked_on}">'):]
        assert "延期待批" in row[:row.index("</tr>")]
        assert 'name="extension" value="pending" id="filter-extension" checked' in client.get(
            "/incidents?extension=pending").text
        assert client.get("/incidents?extension=maybe").status_code == 400
    with http_client(bench) as client:
        worker_sign_in(client, "zhangwei")  # the worker sees their request, and no decision forms
        page = client.get(f"/incidents/{asked_on}").text
        assert "等待审批 Waiting for a leader" in page and "/approve" not in page
        assert 'id="awaiting-extensions"' not in client.get("/incidents").text


def test_approving_moves_the_promised_deadline_tells_the_worker_and_is_audited(bench: Workbench,
                                                                               people: None) -> None:
    topology = site_topology(bench.site)
    incident_id = dispatch_incident(bench, "cam-01")
    promised = stored_incident(bench, incident_id).accept_by
    assert promised is not None
    request_id = ask(bench, incident_id, 90)
    last = last_outbox_id(bench)
    with http_client(bench) as client:
        token = sign_in(client, "leader")
        response = client.post(f"/incidents/{incident_id}/extension/{request_id}/approve",
                               data={"minutes": "", "note": "同意，明早九点前", "csrf_token": token},
                               follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"] == f"/incidents/{incident_id}?done=approve_extension"
        assert stored_incident(bench, incident_id).accept_by == promised + timedelta(minutes=90)
        assert [(m.message_type.value, m.routing_key) for m in outbox_after(bench, last)] == [
            ("incident_update", topology.worker_routing_key("w-001"))]
        page = client.get(response.headers["location"]).text
        assert "已批准延期" in page and "已批准 approved · user:leader" in page and "同意，明早九点前" in page
        assert 'id="approve-extension-form"' not in page
        decided = request_row(bench, request_id)
        assert (decided.status, decided.decided_by, decided.decision_note) == (
            RequestStatus.APPROVED, "user:leader", "同意，明早九点前")
        assert listed(client, "extension=pending") == []
        assert 'data-count="0"' in client.get("/incidents").text

        # Twice: refused with the reason, next to nothing (the forms are gone), nothing written.
        last, before = last_outbox_id(bench), stored_incident(bench, incident_id).accept_by
        again = client.post(f"/incidents/{incident_id}/extension/{request_id}/approve",
                            data={"csrf_token": token})
        assert again.status_code == 422 and "was approved already" in again.text
        assert 'data-testid="action-error"' in again.text
        assert outbox_after(bench, last) == [] and stored_incident(bench, incident_id).accept_by == before

        # The approver's own figure, on an accepted incident: its resolve deadline moves.
        accepted = dispatch_incident(bench, "cam-01")
        with bench.sessions() as session, session.begin():
            row = session.get(Incident, accepted)
            assert row is not None
            bench.field_work.accept(session, row, "user:zhangwei", bench.clock())
        resolve_by = stored_incident(bench, accepted).resolve_by
        assert resolve_by is not None
        second = ask(bench, accepted, 120, "需要物业配合")
        response = client.post(f"/incidents/{accepted}/extension/{second}/approve",
                               data={"minutes": "45", "csrf_token": token}, follow_redirects=False)
        assert response.status_code == 303
        assert stored_incident(bench, accepted).resolve_by == resolve_by + timedelta(minutes=45)

        wrong = client.post(f"/incidents/{incident_id}/extension/{second}/approve", data={"csrf_token": token})
        assert wrong.status_code == 422 and f"has no request {second}" in wrong.text  # another incident's request
        for odd in ("0", "x", str(2**63)):  # not a request id at all, nor one a BIGINT holds
            response = client.post(f"/incidents/{incident_id}/extension/{odd}/approve", data={"csrf_token": token})
            assert response.status_code == 422, odd

    extend = [step for step in steps(bench, incident_id) if step.action is IncidentAction.EXTEND]
    assert [(step.actor, step.to_status) for step in extend] == [("user:leader", IncidentStatus.DISPATCHED)]
    assert (extend[0].note or "").startswith("approved the request of w-001")  # static/incidents.js reads it so
    assert audited(bench) == [("incident_approve_extension", "leader", f"incident:{incident_id}"),
                              ("incident_approve_extension", "leader", f"incident:{accepted}")]


def test_refusing_needs_a_reason_and_keeps_the_status(bench: Workbench, people: None) -> None:
    topology = site_topology(bench.site)
    incident_id = dispatch_incident(bench, "cam-01")
    promised = stored_incident(bench, incident_id).accept_by
    request_id = ask(bench, incident_id, 60)
    last = last_outbox_id(bench)
    with http_client(bench) as client:
        token = sign_in(client, "leader")
        blank = client.post(f"/incidents/{incident_id}/extension/{request_id}/refuse",
                            data={"note": "   ", "csrf_token": token})
        assert blank.status_code == 422 and "a refusal needs a reason" in blank.text
        form = blank.text[blank.text.index('id="refuse-extension-form"'):]
        assert 'data-testid="action-error"' in form[:form.index("</form>")]  # next to the refuse form
        assert outbox_after(bench, last) == [] and request_row(bench, request_id).status is RequestStatus.PENDING

        response = client.post(f"/incidents/{incident_id}/extension/{request_id}/refuse",
                               data={"note": "今天必须处理完 must be done today", "csrf_token": token},
                               follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"] == f"/incidents/{incident_id}?done=refuse_extension"
        page = client.get(response.headers["location"]).text
        assert "已驳回延期" in page and "驳回延期 extension refused" in page and "今天必须处理完" in page
    after = stored_incident(bench, incident_id)
    assert (after.status, after.accept_by) == (IncidentStatus.DISPATCHED, promised)
    assert [m.routing_key for m in outbox_after(bench, last)] == [topology.worker_routing_key("w-001")]
    refused = steps(bench, incident_id)[-1]
    assert (refused.action, refused.actor, refused.from_status, refused.to_status) == (
        IncidentAction.REFUSE_EXTENSION, "user:leader", IncidentStatus.DISPATCHED, IncidentStatus.DISPATCHED)
    assert request_row(bench, request_id).status is RequestStatus.REFUSED
    assert audited(bench) == [("incident_refuse_extension", "leader", f"incident:{incident_id}")]


def test_only_a_leader_whose_scope_holds_it_decides(bench: Workbench, people: None) -> None:
    add_person(bench, "nanjing", "leader", "community:南京东路街道/贵州社区")  # another street's G-03
    incident_id = dispatch_incident(bench, "cam-01")
    request_id = ask(bench, incident_id)
    last = last_outbox_id(bench)
    with http_client(bench) as client:
        token = worker_sign_in(client, "zhangwei")
        for decision, form in (("approve", {}), ("refuse", {"note": "x"})):
            response = client.post(f"/incidents/{incident_id}/extension/{request_id}/{decision}",
                                   data=form | {"csrf_token": token}, follow_redirects=False)
            assert response.status_code == 403, decision
    with http_client(bench) as client:
        token = sign_in(client, "nanjing")
        assert client.get(f"/incidents/{incident_id}").status_code == 404
        for decision, form in (("approve", {}), ("refuse", {"note": "x"})):
            response = client.post(f"/incidents/{incident_id}/extension/{request_id}/{decision}",
                                   data=form | {"csrf_token": token}, follow_redirects=False)
            assert response.status_code == 404, decision
        assert listed(client, "extension=pending") == [] and 'data-count="0"' in client.get("/incidents").text
    with http_client(bench) as client:
        sign_in(client, "leader")
        forged = client.post(f"/incidents/{incident_id}/extension/{request_id}/approve", follow_redirects=False)
        assert forged.status_code == 403  # no CSRF token
    assert outbox_after(bench, last) == [] and request_row(bench, request_id).status is RequestStatus.PENDING
    assert audited(bench) == []


def test_a_request_lapsed_by_a_reassignment_is_not_offered(bench: Workbench, people: None) -> None:
    incident_id = dispatch_incident(bench, "cam-01")
    request_id = ask(bench, incident_id)
    with bench.sessions() as session, session.begin():
        row = session.get(Incident, incident_id)
        assert row is not None
        bench.interventions.reassign(session, row, "w-002", "user:leader", bench.clock(), "张伟 请假")
    with http_client(bench) as client:
        sign_in(client, "leader")
        page = client.get(f"/incidents/{incident_id}").text
        assert f'data-request="{request_id}" data-status="pending"' in page
        assert "已失效 Lapsed" in page and 'id="approve-extension-form"' not in page
        assert listed(client, "extension=pending") == [] and 'data-count="0"' in client.get("/incidents").text


def test_a_request_on_a_closed_incident_is_refused_above_the_page(bench: Workbench, people: None) -> None:
    incident_id = dispatch_incident(bench, "cam-01")
    request_id = ask(bench, incident_id)
    with bench.sessions() as session, session.begin():
        row = session.get(Incident, incident_id)
        assert row is not None
        bench.interventions.false_alarm(session, row, "a parked delivery cart", "user:leader", bench.clock())
    last = last_outbox_id(bench)
    with http_client(bench) as client:
        token = sign_in(client, "leader")
        page = client.get(f"/incidents/{incident_id}").text
        assert "已失效 Lapsed" in page and 'id="approve-extension-form"' not in page
        response = client.post(f"/incidents/{incident_id}/extension/{request_id}/approve", data={"csrf_token": token})
        assert response.status_code == 409 and "cannot extend an incident that is false_alarm" in response.text
        assert 'data-testid="action-error"' in response.text  # no form of it on the page: the error heads it
    assert outbox_after(bench, last) == [] and request_row(bench, request_id).status is RequestStatus.PENDING


def test_every_step_has_a_label_for_the_timeline_and_the_live_feed() -> None:
    assert set(ACTION_LABELS) == set(IncidentAction)


def test_the_workers_photos_show_on_the_detail(bench: Workbench, people: None) -> None:
    incident_id = dispatch_incident(bench, "cam-01")
    folder = bench.site.path(bench.site.config.evidence_dir) / "photos" / incident_id
    photos = []
    for index in range(2):
        written = snapshot_jpeg(folder, f"20261201T093000-{index:08d}.jpg")
        data = written.read_bytes()
        photos.append(StoredPhoto(path=str(written.relative_to(bench.site.base_dir)), size_bytes=len(data),
                                  width=320, height=240, sha256="0" * 64))
    at = datetime.fromisoformat("2026-12-01T09:30:00+08:00")
    with bench.sessions() as session, session.begin():
        row = session.get(Incident, incident_id)
        assert row is not None
        assert bench.field_work.resolve(session, row, "user:zhangwei", "w-001", at, "已清理", photos)
    with http_client(bench) as client:
        sign_in(client, "leader")
        page = client.get(f"/incidents/{incident_id}").text
        section = page[page.index('id="photos"'):page.index("</section>", page.index('id="photos"'))]
        ids = re.findall(r'<img class="photo" src="/photos/(\d+)"', section)
        assert len(ids) == 2 and all(f'<a href="/photos/{photo}"' in section for photo in ids)
        assert section.count("张伟 (w-001)") == 2 and section.count("2026-12-01 09:30:00") == 2
        assert 'id="photos"' not in client.get(f"/incidents/{dispatch_incident(bench, 'cam-01')}").text


def test_a_workers_front_page_is_the_phone_app(bench: Workbench, people: None) -> None:
    with http_client(bench) as client:
        worker_sign_in(client, "zhangwei")
        response = client.get("/", follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == "/m/"
    with http_client(bench) as client:
        sign_in(client, "leader")
        assert client.get("/", follow_redirects=False).status_code == 200
        assert 'name="next" value="/"' in client.get("/login").text  # everyone signs in towards /


def test_the_live_feed_tells_a_worker_of_the_reassignment_that_took_their_incident(bench: Workbench,
                                                                                  people: None) -> None:
    add_person(bench, "lina", "worker", "grid:G-02", worker_id="w-002")
    add_person(bench, "wangfang", "worker", "grid:G-03", worker_id="w-003")
    theirs = dispatch_incident(bench, "cam-01")
    elsewhere = dispatch_incident(bench, "cam-03")
    with bench.sessions() as session, session.begin():
        row = session.get(Incident, theirs)
        assert row is not None
        bench.interventions.reassign(session, row, "w-002", "user:leader", bench.clock(), "张伟 请假")
    with bench.sessions() as session:
        users = {user.username: signed_in_as(bench, user, "csrf") for user in session.scalars(select(User))}
        rows = session.execute(select(IncidentEvent, Incident).join(Incident, Incident.id == IncidentEvent.incident_id)
                               .order_by(IncidentEvent.id)).all()
        events = [incident_event(step, incident) for step, incident in rows]
    reassigned = next(event for event in events if event.data["action"] == "reassign")
    assert reassigned.from_worker_id == "w-001" and reassigned.data["from_worker_id"] == "w-001"

    def seen(username: str) -> list[tuple[object, object]]:
        accepts = visible_to(users[username])
        return [(event.data["incident_id"], event.data["action"]) for event in events if accepts(event)]

    # The feed joins each step with the incident as it is now (with w-002): the reassignment reaches
    # w-001 by its from_worker_id; their incident's other steps, like every other worker's, do not.
    assert seen("zhangwei") == [(theirs, "reassign")]
    assert seen("lina") == [(theirs, "detect"), (theirs, "dispatch"), (theirs, "reassign")]
    assert seen("wangfang") == [(elsewhere, "detect"), (elsewhere, "dispatch")]
    assert {incident for incident, _ in seen("leader")} == {theirs}

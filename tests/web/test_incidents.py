"""The incident pages over HTTP, on SQLite and PostgreSQL: the list's filters, sort and paging within the
user's scope; the detail; the centre's actions changing state, audit and the workers' queues (outbox);
evidence served only from the incident's own row and only from inside the evidence folder; and names
from the site file rendered escaped."""

from __future__ import annotations

import random
import re
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select, text

from aibrain.broker_setup.broker_settings import site_topology
from aibrain.web.incident_query import COUNT_CAP, PAGE_SIZE
from aibrain.web.workbench import Workbench
from configs.load import load_site
from routing.access.access_tables import AuditEntry
from routing.incidents.false_alarms import FALSE_ALARM_LABELS, FalseAlarmReason
from routing.incidents.migrate import upgrade_to_head
from routing.incidents.tables import Incident, IncidentAction, IncidentEvent, IncidentStatus, OutboxMessage
from tests.web.web_site import WebSiteNames, write_web_site
from tests.web.workbench_client import (
    add_person,
    dispatch_incident,
    http_client,
    last_outbox_id,
    sign_in,
    stored_incident,
)

ROW = re.compile(r'<tr data-incident="([^"]+)">')
MORNING = datetime.fromisoformat("2026-11-30T08:00:00+08:00")  # site time (Asia/Shanghai)
MANY = 100_000
PAGE_BUDGET_S = 1.0  # per list page on a shared test machine; scripts/bench_web.py measures the p99 properly


def listed(client: TestClient, query: str = "") -> list[str]:
    response = client.get(f"/incidents?{query}")
    assert response.status_code == 200, response.text[:2000]
    return ROW.findall(response.text)


def snapshot_jpeg(folder: Path, name: str = "shot.jpg") -> Path:
    """A real JPEG (a gradient with a box) where the pipeline writes evidence."""
    folder.mkdir(parents=True, exist_ok=True)
    picture = np.tile(np.linspace(0, 255, 320, dtype=np.uint8), (240, 1))
    picture = cv2.cvtColor(picture, cv2.COLOR_GRAY2BGR)
    cv2.rectangle(picture, (100, 80), (220, 200), (0, 0, 255), 3)
    path = folder / name
    assert cv2.imwrite(str(path), picture)
    return path


def evidence_dir(bench: Workbench) -> Path:
    return bench.site.path(bench.site.config.evidence_dir)



def outbox_after(bench: Workbench, last_id: int) -> list[OutboxMessage]:
    with bench.sessions() as session:
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.id > last_id).order_by(OutboxMessage.id))
        return list(rows)



def steps(bench: Workbench, incident_id: str) -> list[IncidentEvent]:
    with bench.sessions() as session:
        return list(session.scalars(select(IncidentEvent).where(IncidentEvent.incident_id == incident_id)
                                    .order_by(IncidentEvent.id)))


def test_the_list_filters_sorts_and_pages_within_scope(bench: Workbench) -> None:
    add_person(bench, "centre", "centre", "district")
    first = [dispatch_incident(bench, "cam-01", MORNING + timedelta(minutes=minute)) for minute in range(PAGE_SIZE + 2)]
    second = [dispatch_incident(bench, "cam-02", MORNING + timedelta(hours=3, minutes=m)) for m in range(2)]
    third = dispatch_incident(bench, "cam-03", MORNING - timedelta(days=1))
    with http_client(bench) as client:
        sign_in(client, "centre")
        page_one = client.get("/incidents").text
        assert "共 55 条" in page_one and 'rel="next"' in page_one
        newest_first = second[::-1] + first[::-1] + [third]
        assert ROW.findall(page_one) == newest_first[:PAGE_SIZE]
        assert listed(client, "page=2") == newest_first[PAGE_SIZE:]

        assert listed(client, "grid=G-02") == second[::-1]
        assert listed(client, "worker=w-003") == [third]
        assert listed(client, "camera=cam-02&sort=confirmed_at&dir=asc") == second
        assert listed(client, "kind=no_such_kind") == []
        # Times typed as the site's local time (datetime-local inputs): 08:00 to 08:02 there.
        assert listed(client, "since=2026-11-30T08:00&until=2026-11-30T08:02") == first[1::-1]
        assert listed(client, f"q={first[7][:8]}") == [first[7]]
        assert listed(client, "q=%25") == []  # a LIKE wildcard is a character, not a pattern

        by_grid = listed(client, "sort=grid&dir=desc")
        assert by_grid[0] == third and by_grid[1:3] == second[::-1]
        assert listed(client, "sort=grid&dir=asc")[0] == first[0]

        with bench.sessions() as session, session.begin():
            closed = session.get(Incident, second[0])
            assert closed is not None
            bench.interventions.false_alarm(session, closed, "a parked delivery cart", "user:centre", bench.clock())
        assert listed(client, "status=false_alarm") == [second[0]]
        assert listed(client, "status=false_alarm&status=dispatched&grid=G-02") == second[::-1]
        assert listed(client, "sort=status&dir=desc")[0] == second[0]  # 'false_alarm' > 'dispatched'

        refused = client.get("/incidents?status=lost&sort=password")
        assert refused.status_code == 400 and "unknown status" in refused.text


@pytest.mark.parametrize("who", ["leader", "street-centre", "worker"])
def test_each_user_sees_only_their_scope(bench: Workbench, who: str) -> None:
    add_person(bench, "leader", "leader", "community:外滩街道/金陵社区")  # G-02
    add_person(bench, "street-centre", "centre", "street:南京东路街道")  # G-03
    add_person(bench, "worker", "worker", "grid:G-01", worker_id="w-001")
    shot = str(snapshot_jpeg(evidence_dir(bench)))
    ids = {camera: dispatch_incident(bench, camera, snapshot=Path(shot)) for camera in ("cam-01", "cam-02", "cam-03")}
    own = {"leader": "cam-02", "street-centre": "cam-03", "worker": "cam-01"}[who]
    last = last_outbox_id(bench)
    with http_client(bench) as client:
        token = sign_in(client, who)
        assert listed(client) == [ids[own]]
        assert client.get(f"/incidents/{ids[own]}").status_code == 200
        assert client.get(f"/evidence/{ids[own]}").status_code == 200
        for camera, other in ids.items():
            if camera == own:
                continue
            assert listed(client, f"q={other[:8]}") == []
            assert client.get(f"/incidents/{other}").status_code == 404
            assert client.get(f"/evidence/{other}").status_code == 404
            for action, form in (("reassign", {"worker_id": "w-003"}), ("extend", {"minutes": "30", "reason": "x"}),
                                 ("false-alarm", {"reason": "x"}), ("escalate", {"reason": "x"})):
                response = client.post(f"/incidents/{other}/{action}", data=form | {"csrf_token": token},
                                       follow_redirects=False)
                assert response.status_code in (403, 404), (action, response.status_code)
        for other in (i for camera, i in ids.items() if camera != own):  # nobody's step on another's incident
            for action in ("accept", "resolve"):
                response = client.post(f"/incidents/{other}/{action}", data={"csrf_token": token},
                                       follow_redirects=False)
                assert response.status_code in (403, 404), (action, response.status_code)
        if who == "worker":  # their own incident: accept and resolve only, never the centre's actions
            page = client.get(f"/incidents/{ids[own]}").text
            assert 'id="accept-form"' in page and 'id="reassign-form"' not in page
            response = client.post(f"/incidents/{ids[own]}/false-alarm", data={"reason": "x", "csrf_token": token})
            assert response.status_code == 403
    assert outbox_after(bench, last) == []
    assert {stored_incident(bench, i).status for i in ids.values()} == {IncidentStatus.DISPATCHED}


def test_actions_change_state_audit_and_the_workers_queues(bench: Workbench) -> None:
    add_person(bench, "centre", "centre", "district")
    topology = site_topology(bench.site)
    incident_id = dispatch_incident(bench, "cam-01")
    promised = stored_incident(bench, incident_id).accept_by
    assert promised is not None
    with http_client(bench) as client:
        token = sign_in(client, "centre")
        detail = client.get(f"/incidents/{incident_id}").text
        assert re.search(r'<option value="w-002">[^<]*</option>', detail)  # the other workers, w-001 has it

        last = last_outbox_id(bench)
        response = client.post(f"/incidents/{incident_id}/reassign",
                               data={"worker_id": "w-002", "note": "张伟 is ill", "csrf_token": token},
                               follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"] == f"/incidents/{incident_id}?done=reassign"
        assert stored_incident(bench, incident_id).worker_id == "w-002"
        sent = outbox_after(bench, last)
        assert [(m.message_type.value, m.routing_key) for m in sent] == [
            ("incident_update", topology.worker_routing_key("w-001")), ("alert", topology.worker_routing_key("w-002"))]
        page = client.get(response.headers["location"]).text
        assert "已改派" in page and "张伟 is ill" in page

        last = last_outbox_id(bench)
        response = client.post(f"/incidents/{incident_id}/extend",
                               data={"minutes": "45", "reason": "路面施工 roadworks", "csrf_token": token})
        assert response.status_code == 200 and "已延期" in response.text and "路面施工 roadworks" in response.text
        assert stored_incident(bench, incident_id).accept_by == promised + timedelta(minutes=45)
        assert [m.routing_key for m in outbox_after(bench, last)] == [topology.worker_routing_key("w-002")]

        last = last_outbox_id(bench)
        response = client.post(f"/incidents/{incident_id}/escalate", data={"reason": "no answer", "csrf_token": token})
        assert response.status_code == 200
        assert stored_incident(bench, incident_id).escalation_level == 1
        assert [m.routing_key for m in outbox_after(bench, last)] == [topology.escalation_routing_key("street-centre")]
        spent = client.post(f"/incidents/{incident_id}/escalate", data={"reason": "again", "csrf_token": token})
        assert spent.status_code == 422 and "chain is spent" in spent.text

        last = last_outbox_id(bench)
        response = client.post(f"/incidents/{incident_id}/false-alarm",
                               data={"reason": "a parked delivery cart", "csrf_token": token})
        assert response.status_code == 200 and "误报" in response.text
        assert stored_incident(bench, incident_id).status is IncidentStatus.FALSE_ALARM
        assert [m.routing_key for m in outbox_after(bench, last)] == [topology.worker_routing_key("w-002")]
        assert 'data-testid="actions"' not in response.text  # nothing more to do on a closed incident

        # Refused: the status forbids it (409), or the request is wrong (422); nothing written either way.
        last = last_outbox_id(bench)
        again = client.post(f"/incidents/{incident_id}/extend", data={"minutes": "10", "reason": "x",
                                                                     "csrf_token": token})
        assert again.status_code == 409 and "cannot extend an incident that is false_alarm" in again.text
        assert outbox_after(bench, last) == []

    mine = [(step.action, step.actor) for step in steps(bench, incident_id) if step.actor == "user:centre"]
    assert mine == [(IncidentAction.REASSIGN, "user:centre"), (IncidentAction.EXTEND, "user:centre"),
                    (IncidentAction.ESCALATE, "user:centre"), (IncidentAction.FALSE_ALARM, "user:centre")]
    with bench.sessions() as session:
        audited = session.execute(select(AuditEntry.action, AuditEntry.username, AuditEntry.target)
                                  .where(AuditEntry.action.startswith("incident_")).order_by(AuditEntry.id)).all()
    assert [tuple(row) for row in audited] == [(f"incident_{action}", "centre", f"incident:{incident_id}")
                                              for action in ("reassign", "extend", "escalate", "false_alarm")]


def test_a_wrong_request_is_refused_with_its_reason_next_to_the_form(bench: Workbench) -> None:
    add_person(bench, "leader", "leader", "community:外滩街道/汇丰社区")
    incident_id = dispatch_incident(bench, "cam-01")
    last = last_outbox_id(bench)
    with http_client(bench) as client:
        token = sign_in(client, "leader")
        for action, form, says in (
                ("extend", {"minutes": "soon", "reason": "x"}, "minutes must be a number"),
                ("extend", {"minutes": "0", "reason": "x"}, "more than 0"),
                ("extend", {"minutes": "30", "reason": "   "}, "needs a reason"),
                ("reassign", {"worker_id": "w-001"}, "assigned to w-001 already"),
                ("reassign", {"worker_id": "w-999"}, "no worker"),
                ("false-alarm", {}, "needs a reason")):
            response = client.post(f"/incidents/{incident_id}/{action}", data=form | {"csrf_token": token})
            assert response.status_code == 422, (action, form, response.status_code)
            assert says in response.text and 'data-testid="action-error"' in response.text, (action, form)
    assert outbox_after(bench, last) == []
    assert stored_incident(bench, incident_id).status is IncidentStatus.DISPATCHED


def test_an_action_without_the_csrf_token_changes_nothing(bench: Workbench) -> None:
    add_person(bench, "centre", "centre", "district")
    incident_id = dispatch_incident(bench, "cam-01")
    last, before = last_outbox_id(bench), len(steps(bench, incident_id))
    with http_client(bench) as client:
        sign_in(client, "centre")
        for action, form in (("reassign", {"worker_id": "w-002"}), ("false-alarm", {"reason": "forged"})):
            assert client.post(f"/incidents/{incident_id}/{action}", data=form).status_code == 403
    assert outbox_after(bench, last) == [] and len(steps(bench, incident_id)) == before
    assert stored_incident(bench, incident_id).worker_id == "w-001"


def test_evidence_is_served_from_the_incident_row_and_only_from_the_evidence_folder(bench: Workbench) -> None:
    add_person(bench, "centre", "centre", "district")
    shot = snapshot_jpeg(evidence_dir(bench) / "cam-01" / "2026-11-30")
    incident_id = dispatch_incident(bench, "cam-01", snapshot=shot)
    secret = snapshot_jpeg(bench.site.base_dir, "outside.jpg")  # a JPEG next to the site file, outside evidence
    (evidence_dir(bench) / "link.jpg").symlink_to(secret)
    with http_client(bench) as client:
        sign_in(client, "centre")
        served = client.get(f"/evidence/{incident_id}")
        assert served.status_code == 200 and served.headers["content-type"] == "image/jpeg"
        assert served.content == shot.read_bytes()
        assert f'src="/evidence/{incident_id}"' in client.get(f"/incidents/{incident_id}").text

        for url in ("/evidence/../site.yaml", "/evidence/..%2Fsite.yaml", "/evidence/%2e%2e%2fsite.yaml",
                    "/evidence/%2e%2e/%2e%2e/etc/passwd", f"/evidence/{incident_id}/..%2F..%2Fsite.yaml",
                    "/evidence/" + quote("../outside.jpg", safe=""), "/evidence/..%5Coutside.jpg"):
            response = client.get(url, follow_redirects=False)
            assert response.status_code in (400, 404), (url, response.status_code)
            assert response.content != secret.read_bytes() and b"timezone" not in response.content

        # A row pointing outside the folder (written by hand, or by a bug) is refused however it gets there.
        for crafted in (str(secret), str(evidence_dir(bench) / ".." / "outside.jpg"),
                        str(evidence_dir(bench) / "link.jpg"), "outside.jpg", str(bench.site.file)):
            with bench.sessions() as session, session.begin():
                row = session.get(Incident, incident_id)
                assert row is not None
                row.snapshot = crafted
            response = client.get(f"/evidence/{incident_id}")
            assert response.status_code == 404, crafted
            assert response.content != secret.read_bytes()


def test_names_from_the_site_file_render_escaped(tmp_path: Path, db_url: str, pialin_street: Path) -> None:
    hostile = "<script>alert(1)</script>"
    upgrade_to_head(db_url)
    site = load_site(write_web_site(tmp_path, db_url, pialin_street, WebSiteNames(
        camera_names=(f"东门{hostile}", "b", "c"), grid_names=(f"一{hostile}", "二", "三"),
        worker_names=(f"张{hostile}", "李", "王"))))
    bench = Workbench.build(site)
    add_person(bench, "centre", "centre", "district", display_name=f"主任{hostile}")
    incident_id = dispatch_incident(bench, "cam-01")
    with http_client(bench) as client:
        sign_in(client, "centre")
        for page in (client.get("/incidents").text, client.get(f"/incidents/{incident_id}").text):
            assert "<script>alert" not in page
            assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def seed_many(bench: Workbench, count: int) -> None:
    """`count` incidents over the three grids, every status and two kinds, written in bulk."""
    pick = random.Random(10)
    statuses = list(IncidentStatus)
    start = MORNING - timedelta(days=365)
    rows = []
    for number in range(count):
        grid = pick.randrange(3) + 1
        at = start + timedelta(minutes=5 * number)
        rows.append({"id": str(uuid.uuid4()), "kind": pick.choice(["non_motor_parking", "motor_parking"]),
                     "kind_label": "非机动车乱停放", "status": pick.choice(statuses), "camera_id": f"cam-0{grid}",
                     "camera_name": "东门", "zone": "sidewalk", "grid_id": f"G-0{grid}", "worker_id": f"w-00{grid}",
                     "object_kind": "bicycle", "class_name": "bicycle", "track_id": number, "confidence": 0.8,
                     "bbox": [1.0, 2.0, 3.0, 4.0], "frame_size": [640, 480], "first_seen": at, "confirmed_at": at,
                     "created_at": at})
    with bench.sessions() as session, session.begin():
        for first in range(0, count, 5000):
            session.execute(insert(Incident), rows[first:first + 5000])
    with bench.sessions() as session, session.begin():
        session.execute(text("ANALYZE"))  # as the database's own statistics would be by now


def test_the_list_stays_fast_on_100000_incidents(bench: Workbench) -> None:
    seed_many(bench, MANY)
    add_person(bench, "centre", "centre", "district")
    add_person(bench, "leader", "leader", "community:外滩街道/金陵社区")
    queries = ["", "status=dispatched", "grid=G-02", "worker=w-002", "kind=motor_parking", "camera=cam-02",
               "sort=kind", "sort=status&dir=asc", "sort=worker&status=verified&status=reopened",
               f"page={COUNT_CAP // PAGE_SIZE}", "q=ab", "since=2026-06-01T00:00&until=2026-06-02T00:00"]
    for who in ("centre", "leader"):
        with http_client(bench) as client:
            sign_in(client, who)
            for query in queries:
                started = time.perf_counter()
                response = client.get(f"/incidents?{query}")
                took = time.perf_counter() - started
                assert response.status_code == 200 and ROW.findall(response.text), (who, query)
                assert took < PAGE_BUDGET_S, f"{who}: /incidents?{query} took {took:.2f} s"
            first = client.get("/incidents").text
            assert f"共 {COUNT_CAP}+ 条" in first  # the count stops at the cap instead of scanning everything
            if who == "leader":
                assert set(re.findall(r"\((G-0\d)\)</td>", first)) == {"G-02"}


def test_a_worker_accepts_and_resolves_their_own_incident_like_their_feedback_would(bench: Workbench) -> None:
    add_person(bench, "zhangwei", "worker", "grid:G-01", worker_id="w-001")
    add_person(bench, "centre", "centre", "district")
    incident_id = dispatch_incident(bench, "cam-01")
    last = last_outbox_id(bench)
    with http_client(bench) as client:
        token = sign_in(client, "centre")
        refused = client.post(f"/incidents/{incident_id}/accept", data={"csrf_token": token}, follow_redirects=False)
        assert refused.status_code == 403  # the centre reassigns; only the worker accepts
    with http_client(bench) as client:
        token = sign_in(client, "zhangwei")
        for action, form in (("accept", {}), ("accept", {}), ("resolve", {"note": "已挪走 moved away"})):
            response = client.post(f"/incidents/{incident_id}/{action}", data=form | {"csrf_token": token},
                                   follow_redirects=False)
            assert response.status_code == 303, (action, response.text[:300])
        page = client.get(f"/incidents/{incident_id}").text
        assert "已挪走 moved away" in page and 'id="accept-form"' not in page
    assert stored_incident(bench, incident_id).status is IncidentStatus.RESOLVED
    trail = [(step.action, step.actor) for step in steps(bench, incident_id)][2:]
    assert trail == [(IncidentAction.ACCEPT, "user:zhangwei"), (IncidentAction.RESOLVE, "user:zhangwei")]
    assert [row.routing_key.rsplit(".", 2)[-2:] for row in outbox_after(bench, last)] == [["worker", "w-001"]] * 2


def test_the_centre_closes_a_false_alarm_with_a_reason_from_the_select(bench: Workbench) -> None:
    """The detail page's select offers every reason the phone does; the code chosen is stored (wrong_object makes a
    hard negative for training), words optional but for other; a form without the select closes as other."""
    add_person(bench, "centre", "centre", "district")
    wrong, words_only, bogus = (dispatch_incident(bench, "cam-01") for _ in range(3))
    with http_client(bench) as client:
        token = sign_in(client, "centre")
        page = client.get(f"/incidents/{wrong}")
        select_html = page.text.split('id="false-alarm-code"', 1)[1].split("</select>", 1)[0]
        assert re.findall(r'<option value="(\w+)"', select_html) == [reason.value for reason in FalseAlarmReason]
        assert all(label in select_html for label in FALSE_ALARM_LABELS.values())
        assert re.search(r'<option value="other" selected>', select_html), "words alone mean other"

        closed = client.post(f"/incidents/{wrong}/false-alarm", data={"code": "wrong_object", "csrf_token": token})
        assert closed.status_code == 200 and "误报" in closed.text
        closed = client.post(f"/incidents/{words_only}/false-alarm",
                             data={"reason": "a parked delivery cart", "csrf_token": token})
        assert closed.status_code == 200
        refused = client.post(f"/incidents/{bogus}/false-alarm",
                              data={"code": "bogus", "reason": "x", "csrf_token": token})
        assert refused.status_code == 422 and "no reason &#39;bogus&#39;" in refused.text
    stored = {incident_id: stored_incident(bench, incident_id) for incident_id in (wrong, words_only, bogus)}
    assert [(row.status, row.false_alarm_reason) for row in stored.values()] == [
        (IncidentStatus.FALSE_ALARM, "wrong_object"), (IncidentStatus.FALSE_ALARM, "other"),
        (IncidentStatus.DISPATCHED, None)]
    with bench.sessions() as session:
        notes = dict(session.execute(select(IncidentEvent.incident_id, IncidentEvent.note)
                                     .where(IncidentEvent.action == IncidentAction.FALSE_ALARM)).all())
    assert notes == {wrong: "识别错误 (wrong_object)", words_only: "其他 (other): a parked delivery cart"}

"""My record (/m/api/record): a worker's month in the assessment's own figures, their history only,
months taken in the site's time zone, and the API's refusals."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from aibrain.web import worker_record
from aibrain.web.workbench import Workbench
from common.clock import utc_now
from routing.incidents.tables import Incident, IncidentAction
from tests.web.workbench_client import add_person, dispatch_incident, http_client, sign_in, stored_incident

SHANGHAI_OFFSET = "+08:00"


def seed_month(bench: Workbench) -> dict[str, str]:
    """A month of 张伟 (w-001, cam-01) and 李娜 (w-002, cam-02): names -> incident ids.

    张伟: resolved on time; resolved late; resolved, then reopened by the camera; a false alarm; one open and
    extended; one of his reassigned to 李娜. 李娜: resolved on time; a false alarm.
    """
    ids = {name: dispatch_incident(bench, "cam-01") for name in
           ("on_time", "late", "reopened", "false_alarm", "open_extended", "reassigned")}
    ids |= {f"b_{name}": dispatch_incident(bench, "cam-02") for name in ("on_time", "false_alarm")}
    now = utc_now()
    with bench.sessions() as session, session.begin():
        def incident(name: str) -> Incident:
            found = session.get(Incident, ids[name])
            assert found is not None
            return found

        late = incident("late")
        late.resolve_by = now - timedelta(minutes=5)  # promised five minutes ago
        for name, worker in (("on_time", "w-001"), ("late", "w-001"), ("reopened", "w-001"), ("b_on_time", "w-002")):
            bench.loop.act(session, incident(name), IncidentAction.ACCEPT, worker, now)
            bench.loop.act(session, incident(name), IncidentAction.RESOLVE, worker, now, "已清理")
        bench.loop.act(session, incident("reopened"), IncidentAction.REOPEN, "camera", now, "still there")
        for name in ("false_alarm", "b_false_alarm"):
            bench.interventions.false_alarm(session, incident(name), "a shadow", "user:centre", now)
        bench.interventions.extend(session, incident("open_extended"), 60, "road works", "user:centre", now)
        bench.interventions.reassign(session, incident("reassigned"), "w-002", "user:centre", now, "张伟 is ill")
    return ids


def record(client: TestClient, month: str | None = None) -> dict[str, Any]:
    response = client.get("/m/api/record", params={"month": month} if month else None)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def assessment_worker_row(bench: Workbench, label: str) -> dict[str, str]:
    """The command centre's assessment CSV, by worker: the row of `label`, header -> cell."""
    add_person(bench, "centre", "centre", "district")
    with http_client(bench) as client:
        sign_in(client, "centre")
        response = client.get("/assessment.csv?by=worker")
    header, *rows = csv.reader(io.StringIO(response.content.decode("utf-8-sig")))
    return next(dict(zip(header, row, strict=True)) for row in rows if row[0] == label)


def test_the_record_holds_the_assessment_figures_and_only_the_workers_own_incidents(bench: Workbench) -> None:
    ids = seed_month(bench)
    add_person(bench, "zhangwei", "worker", "grid:G-01", worker_id="w-001")
    add_person(bench, "lina", "worker", "grid:G-02", worker_id="w-002")
    with http_client(bench) as client:
        sign_in(client, "zhangwei")
        mine = record(client)
    with http_client(bench) as client:
        sign_in(client, "lina")
        hers = record(client)

    assert mine["month"] == utc_now().astimezone(bench.site.config.tz).strftime("%Y-%m")
    # Resolved: on time, late, reopened (its first resolve was on time) -> 2 of 3 on time; the open one is not due.
    assert mine["figures"] == {"handled": 3, "on_time": 2, "on_time_pct": 66.7, "reopened": 1, "false_alarms": 1,
                               "extensions": 1, "open": 2}
    assert hers["figures"] == {"handled": 1, "on_time": 1, "on_time_pct": 100.0, "reopened": 0, "false_alarms": 1,
                               "extensions": 0, "open": 1}

    centre = assessment_worker_row(bench, "张伟 (w-001)")
    figures = mine["figures"]
    assert int(centre["立案数 incidents"]) == len(mine["history"]) == 5
    assert int(centre["误报数 false alarms"]) == figures["false_alarms"]
    assert centre["按期处置率 resolved on time %"] == f"{figures['on_time_pct']:.1f}"
    assert centre["返工率 reopened %"] == f"{figures['reopened'] / figures['handled'] * 100:.1f}"
    valid = int(centre["立案数 incidents"]) - figures["false_alarms"]
    assert centre["延期率 extended %"] == f"{figures['extensions'] / valid * 100:.1f}"

    # Newest first; the reassigned incident is 李娜's now, in her record and not in his.
    mine_ids = [entry["id"] for entry in mine["history"]]
    assert mine_ids == [ids[name] for name in ("open_extended", "false_alarm", "reopened", "late", "on_time")]
    assert {entry["id"] for entry in hers["history"]} == {ids["reassigned"], ids["b_on_time"], ids["b_false_alarm"]}
    assert not set(mine_ids) & {entry["id"] for entry in hers["history"]}

    by_id = {entry["id"]: entry for entry in mine["history"]}
    assert [by_id[ids[name]]["on_time"] for name in ("on_time", "late", "reopened", "false_alarm", "open_extended")] \
        == [True, False, True, None, None]
    assert [by_id[ids[name]]["status_label"] for name in ("on_time", "reopened", "false_alarm", "open_extended")] \
        == ["已处置", "返工", "误报", "已派遣"]
    resolved = by_id[ids["late"]]
    assert resolved["status"] == "resolved" and resolved["kind_label"] and resolved["camera_name"] == "汇丰购物广场东门"
    assert resolved["zone"] == "sidewalk"
    for at in (resolved["confirmed_at"], resolved["resolved_at"]):
        assert at.endswith(SHANGHAI_OFFSET) and datetime.fromisoformat(at).tzinfo is not None
    assert by_id[ids["open_extended"]]["resolved_at"] is None


def test_a_month_is_the_site_times_month_and_an_empty_one_has_no_rate(bench: Workbench) -> None:
    """An incident dispatched at 00:30 on 1 November in Shanghai (16:30 UTC on 31 October) is November's."""
    incident_id = dispatch_incident(bench, "cam-01")
    with bench.sessions() as session, session.begin():
        found = session.get(Incident, incident_id)
        assert found is not None
        found.created_at = datetime(2026, 10, 31, 16, 30, tzinfo=UTC)
    add_person(bench, "zhangwei", "worker", "grid:G-01", worker_id="w-001")
    with http_client(bench) as client:
        sign_in(client, "zhangwei")
        november, october = record(client, "2026-11"), record(client, "2026-10")
    assert [entry["id"] for entry in november["history"]] == [incident_id]
    assert november["figures"]["open"] == 1
    assert october == {"month": "2026-10", "history": [],
                       "figures": {"handled": 0, "on_time": 0, "on_time_pct": None, "reopened": 0,
                                   "false_alarms": 0, "extensions": 0, "open": 0}}


def test_the_previous_month_is_empty(bench: Workbench) -> None:
    incident_id = dispatch_incident(bench, "cam-01")
    dispatched = stored_incident(bench, incident_id).created_at.astimezone(bench.site.config.tz)
    previous = (dispatched.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    add_person(bench, "zhangwei", "worker", "grid:G-01", worker_id="w-001")
    with http_client(bench) as client:
        sign_in(client, "zhangwei")
        assert [entry["id"] for entry in record(client, dispatched.strftime("%Y-%m"))["history"]] == [incident_id]
        before = record(client, previous)
    assert before["history"] == [] and before["figures"]["handled"] == 0 and before["figures"]["on_time_pct"] is None


def test_a_malformed_month_is_refused_naming_the_parameter(bench: Workbench) -> None:
    add_person(bench, "zhangwei", "worker", "grid:G-01", worker_id="w-001")
    with http_client(bench) as client:
        sign_in(client, "zhangwei")
        for month in ("2026-13", "2026-1", "december", "2026-12-01", "２０２６-１２"):
            response = client.get("/m/api/record", params={"month": month})
            assert response.status_code == 422, month
            assert response.json()["code"] == "invalid" and "month" in response.json()["detail"], month


def test_only_a_signed_in_worker_has_a_record(bench: Workbench) -> None:
    add_person(bench, "leader", "leader", "community:外滩街道/汇丰社区")
    with http_client(bench) as client:
        signed_out = client.get("/m/api/record")
        assert signed_out.status_code == 401 and signed_out.headers["content-type"] == "application/json"
        sign_in(client, "leader")
        refused = client.get("/m/api/record")
    assert refused.status_code == 403 and refused.json()["code"] == "not_worker"


def test_the_history_is_capped_but_the_figures_count_every_incident(bench: Workbench,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(worker_record, "HISTORY_LIMIT", 2)
    newest_last = [dispatch_incident(bench, "cam-01") for _ in range(3)]
    add_person(bench, "zhangwei", "worker", "grid:G-01", worker_id="w-001")
    with http_client(bench) as client:
        sign_in(client, "zhangwei")
        body = record(client)
    assert [entry["id"] for entry in body["history"]] == newest_last[:0:-1]
    assert body["figures"]["open"] == 3

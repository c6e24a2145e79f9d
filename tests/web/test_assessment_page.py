"""The assessment in the workbench: the page shows routing's figures for the user's scope, the CSV
says the same, workers are kept out, and the monthly report prints to a PDF in Chromium."""

from __future__ import annotations

import base64
import csv
import io
import time
from typing import Any

from selenium.webdriver.common.by import By

from aibrain.web.workbench import Workbench
from routing.incidents.tables import Incident
from tests.helpers.browser import artifact
from tests.web.workbench_client import add_person, browser_sign_in, dispatch_incident, http_client, served, sign_in


def history(bench: Workbench) -> None:
    """Four incidents this month: two in G-01, one in G-02 closed as a false alarm, one in G-03."""
    first, _second = dispatch_incident(bench, "cam-01"), dispatch_incident(bench, "cam-01")
    false_alarm, _third = dispatch_incident(bench, "cam-02"), dispatch_incident(bench, "cam-03")
    with bench.sessions() as session, session.begin():
        bench.interventions.false_alarm(session, session.get(Incident, false_alarm), "a shadow", "user:test",
                                        bench.clock())
        bench.interventions.extend(session, session.get(Incident, first), 60, "road works", "user:test",
                                   bench.clock())


def csv_rows(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "UTF-8 with a BOM, for Excel"
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def test_the_centre_sees_the_whole_district_and_the_csv_says_the_same(bench: Workbench) -> None:
    add_person(bench, "centre", "centre", "district")
    history(bench)
    with http_client(bench) as client:
        sign_in(client, "centre")
        page = client.get("/assessment?by=grid")
        assert page.status_code == 200
        for shown in ("第一网格", "第二网格", "第三网格", "25.0%", "33.3%"):  # 1 of 4 false; 1 of 3 valid extended
            assert shown in page.text, shown
        rows = csv_rows(client.get("/assessment.csv?by=grid").content)
    header, *body, total = rows
    assert header[:3] == ["网格 grid", "立案数 incidents", "误报数 false alarms"]
    assert [(row[0], row[1], row[2]) for row in body] == [("第一网格", "2", "0"), ("第二网格", "1", "1"),
                                                         ("第三网格", "1", "0")]
    assert total[1:3] == ["4", "1"] and total[header.index("延期率 extended %")] == "33.3"


def test_a_community_leader_sees_only_their_community(bench: Workbench) -> None:
    add_person(bench, "leader", "leader", "community:外滩街道/金陵社区")
    history(bench)
    with http_client(bench) as client:
        sign_in(client, "leader")
        header, *body, total = csv_rows(client.get("/assessment.csv?by=grid").content)
        assert [row[0] for row in body] == ["第二网格"] and total[1] == "1"
        assert "第一网格" not in client.get("/assessment/monthly").text


def test_workers_are_kept_out_of_the_assessment(bench: Workbench) -> None:
    add_person(bench, "zhangwei", "worker", "grid:G-01", worker_id="w-001")
    with http_client(bench) as client:
        sign_in(client, "zhangwei")
        for path in ("/assessment", "/assessment.csv", "/assessment/monthly"):
            assert client.get(path).status_code == 403, path


def test_a_bad_period_is_refused_with_the_reason(bench: Workbench) -> None:
    add_person(bench, "centre", "centre", "district")
    with http_client(bench) as client:
        sign_in(client, "centre")
        backwards = client.get("/assessment?from=2026-11-20&to=2026-11-01")
        assert backwards.status_code == 422 and "before it starts" in backwards.text
        assert client.get("/assessment/monthly?month=2026-13").status_code == 422


def test_the_monthly_report_prints_to_pdf_in_chromium(bench: Workbench, browser: Any) -> None:
    add_person(bench, "centre", "centre", "district", display_name="指挥中心")
    history(bench)
    with served(bench) as base:
        browser_sign_in(browser, base + "/", "centre")
        browser.find_element(By.LINK_TEXT, "考核 Assessment").click()
        assert "考核 Assessment" in browser.title
        assert browser.execute_script("return document.querySelector('#daily-chart canvas') !== null")
        time.sleep(1.5)  # the chart's opening animation, for the screenshot
        browser.save_screenshot(str(artifact("web-assessment.png")))
        browser.find_element(By.ID, "monthly").click()
        assert "城市管理考核月报" in browser.find_element(By.TAG_NAME, "h1").text
        assert browser.execute_script("return document.querySelector('#daily-chart svg') !== null")
        pdf = base64.b64decode(browser.print_page())
    assert pdf.startswith(b"%PDF") and b"/Type /Page" in pdf
    artifact("web-monthly-report.pdf").write_bytes(pdf)  # kept for a person to look at

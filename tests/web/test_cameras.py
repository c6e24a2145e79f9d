"""The cameras pages over HTTP: cards only for cameras in the user's scope, pictures served only by
the site's own camera ids, and zone saving — administrators only, CSRF-checked, validated exactly as
check-config validates (each problem placed on its zone and field, the file left alone), written back
with the file's comments kept, audited."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import select

from aibrain.live.live_files import ReloadOutcome, live_dir, reload_file, replace_file
from aibrain.web.workbench import Workbench
from configs.load import load_site
from routing.access.access_tables import AuditEntry
from routing.incidents.migrate import upgrade_to_head
from tests.web.live_picture import put_live_picture
from tests.web.web_site import ZONE, WebSiteNames, write_web_site
from tests.web.workbench_client import add_person, dispatch_incident, http_client, sign_in

EDITOR_DATA = re.compile(r'<script type="application/json" id="zone-editor-data">(.*?)</script>', re.S)
TOP_COMMENT = "# 黄浦区 workbench test site — this comment must survive a save\n"
CAMERA_COMMENT = "# the crossing on 金陵东路 (kept too)\n"
SQUARE = [[0.1, 0.1], [0.4, 0.1], [0.4, 0.4], [0.1, 0.4]]


@pytest.fixture
def commented(bench: Workbench) -> Workbench:
    """The test site with comments written into it, as a person keeps their site file."""
    file = bench.site.file
    text = file.read_text(encoding="utf-8")
    file.write_text(TOP_COMMENT + text.replace("- id: cam-02\n", CAMERA_COMMENT + "- id: cam-02\n"), encoding="utf-8")
    return bench


def editor_data(client: TestClient, camera_id: str) -> dict[str, Any]:
    page = client.get(f"/cameras/{camera_id}/zones")
    assert page.status_code == 200, page.text[:500]
    found = EDITOR_DATA.search(page.text)
    assert found, page.text[:2000]
    data: dict[str, Any] = json.loads(found.group(1))
    return data


def save(client: TestClient, camera_id: str, zones: list[dict[str, Any]], version: str, token: str | None) -> Any:
    headers = {"X-CSRF-Token": token} if token else {}
    return client.post(f"/cameras/{camera_id}/zones", json={"version": version, "zones": zones}, headers=headers)


def kept(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The editor's zones as it would post them back unchanged."""
    return [{key: zone[key] for key in ("name", "grid", "tags", "polygon", "source")} for zone in data["zones"]]


def test_cards_show_the_cameras_in_scope_with_picture_and_last_incident(bench: Workbench, pialin_street: Path) -> None:
    add_person(bench, "leader", "leader", "community:外滩街道/汇丰社区")  # G-01 only: cam-01
    add_person(bench, "centre", "centre", "district")
    put_live_picture(bench.site, "cam-01", pialin_street)
    dispatch_incident(bench, "cam-01")
    dispatch_incident(bench, "cam-03")
    with http_client(bench) as client:
        sign_in(client, "leader")
        page = client.get("/cameras")
        assert page.status_code == 200
        cards = re.findall(r'data-camera="([^"]+)"', page.text)
        assert cards == ["cam-01"]
        assert "/cameras/cam-01/picture?t=" in page.text
        assert "非机动车" in page.text  # the last incident's kind, in Chinese
        now = client.get("/api/cameras").json()
        assert [camera["id"] for camera in now["cameras"]] == ["cam-01"]
        assert now["cameras"][0]["picture_url"].startswith("/cameras/cam-01/picture?t=")
    with http_client(bench) as client:
        sign_in(client, "centre")
        page = client.get("/cameras")
        assert re.findall(r'data-camera="([^"]+)"', page.text) == ["cam-01", "cam-02", "cam-03"]
        assert page.text.count("No picture yet") == 2
        assert page.text.count('data-testid="camera-last-incident"') == 3
        assert "S3cret-Pw" not in page.text and "rtsp://" not in page.text  # never a camera's URL


def test_the_picture_route_serves_only_the_sites_cameras_in_scope(bench: Workbench, pialin_street: Path) -> None:
    add_person(bench, "leader", "leader", "community:外滩街道/汇丰社区")
    picture = put_live_picture(bench.site, "cam-01", pialin_street)
    put_live_picture(bench.site, "cam-03", pialin_street)
    (picture.parent / "..%2Fsite.jpg").write_bytes(b"not for you")
    with http_client(bench) as client:
        sign_in(client, "leader")
        served = client.get("/cameras/cam-01/picture")
        assert served.status_code == 200 and served.headers["content-type"] == "image/jpeg"
        assert served.content == picture.read_bytes() and served.content[:2] == b"\xff\xd8"
        assert client.get("/cameras/cam-03/picture").status_code == 404  # another community's camera
        for bad in ("cam-09", "..%2Fsite.yaml", "..%2F..%2Fsite.yaml", "%2E%2E", "cam-01%2F..%2Fcam-03",
                    "..%252Fsite"):
            response = client.get(f"/cameras/{bad}/picture")
            assert response.status_code == 404, (bad, response.status_code)
            assert response.content != b"not for you"
        assert client.get("/cameras/../site.yaml/picture").status_code == 404
    with http_client(bench) as client:
        add_person(bench, "centre", "centre", "district")
        sign_in(client, "centre")
        assert client.get("/cameras/cam-02/picture").status_code == 404  # no picture yet


def test_only_an_administrator_saves_and_only_with_the_csrf_token(commented: Workbench) -> None:
    bench = commented
    add_person(bench, "centre", "centre", "district")
    add_person(bench, "admin1", "admin", "district")
    before = bench.site.file.read_bytes()
    with http_client(bench) as client:
        token = sign_in(client, "centre")
        data = editor_data(client, "cam-02")  # others may look at the zones
        assert data["can_save"] is False
        response = save(client, "cam-02", kept(data) + [{"name": "extra", "polygon": SQUARE}], data["version"], token)
        assert response.status_code == 403
    with http_client(bench) as client:
        token = sign_in(client, "admin1")
        data = editor_data(client, "cam-02")
        assert data["can_save"] is True
        zones = kept(data) + [{"name": "extra", "polygon": SQUARE}]
        assert save(client, "cam-02", zones, data["version"], None).status_code == 403
        assert save(client, "cam-02", zones, data["version"], "not-" + token).status_code == 403
        assert client.get("/api/cameras/reload").json() == {"outcome": None}
    assert bench.site.file.read_bytes() == before


def test_an_invalid_zone_list_is_refused_with_each_problem_on_its_field(commented: Workbench) -> None:
    bench = commented
    add_person(bench, "admin1", "admin", "district")
    before = bench.site.file.read_bytes()
    with http_client(bench) as client:
        token = sign_in(client, "admin1")
        data = editor_data(client, "cam-02")
        zones = kept(data) + [
            {"name": "two-points", "grid": "G-02", "tags": ["t"], "polygon": [[0.1, 0.1], [0.2, 0.2]]},
            {"name": "bowtie", "grid": "G-02", "tags": [], "polygon": [[0.1, 0.1], [0.9, 0.9], [0.9, 0.1], [0.1, 0.9]]},
            {"name": "outside", "grid": "G-02", "tags": [], "polygon": [[0.1, 0.1], [1.2, 0.1], [0.5, 0.5]]},
            {"name": "bad name!", "grid": "G-99", "tags": ["ok"], "polygon": SQUARE},
            {"name": "sidewalk", "grid": "G-02", "tags": [], "polygon": SQUARE},  # a name the camera has already
        ]
        response = save(client, "cam-02", zones, data["version"], token)
        assert response.status_code == 422, response.text
        problems = response.json()["problems"]
        placed = {(problem["zone"], problem["field"]) for problem in problems}
        assert {(1, "polygon"), (2, "polygon"), (3, "polygon"), (4, "name")} <= placed, problems
        assert any(problem["zone"] == 4 and "G-99" in problem["message"] for problem in problems), problems
        assert any(problem["zone"] == 5 and "duplicate" in problem["message"] for problem in problems), problems
        by_zone = {problem["zone"]: problem["message"] for problem in problems if problem["field"] == "polygon"}
        assert "at least 3 points" in by_zone[1] and "Self-intersection" in by_zone[2] and "0..1" in by_zone[3]
        assert all("duplicate" in problem["message"] for problem in problems if problem["zone"] == 0)  # its name only
    assert bench.site.file.read_bytes() == before
    assert not list(bench.site.file.parent.glob(".site.yaml.*"))  # no temporary file left behind


def test_a_valid_zone_list_is_written_back_with_the_comments_kept(commented: Workbench) -> None:
    bench = commented
    add_person(bench, "admin1", "admin", "district")
    file = bench.site.file
    file.chmod(0o640)
    before = file.read_text(encoding="utf-8")
    live = live_dir(bench.site.path(bench.site.config.evidence_dir))
    with http_client(bench) as client:
        token = sign_in(client, "admin1")
        data = editor_data(client, "cam-02")
        moved = kept(data)
        moved[0]["polygon"] = [[0.05, 0.5], [0.95, 0.55], [0.95, 0.98], [0.05, 0.98]]
        zones = moved + [{"name": "crossing", "grid": "G-02", "tags": ["no_parking_non_motor", "crossing"],
                          "polygon": [[0.123456, 0.1], [0.4, 0.1], [0.4, 0.4]], "source": None}]
        response = save(client, "cam-02", zones, data["version"], token)
        assert response.status_code == 200, response.text
        assert response.json()["saved"] is True
        after = file.read_text(encoding="utf-8")
        assert after.startswith(TOP_COMMENT) and CAMERA_COMMENT + "- id: cam-02\n" in after
        assert file.stat().st_mode & 0o777 == 0o640
        site = load_site(file)
        zones_now = site.camera("cam-02").zones
        assert [zone.name for zone in zones_now] == ["sidewalk", "crossing"]
        assert zones_now[1].polygon == [(0.1235, 0.1), (0.4, 0.1), (0.4, 0.4)]
        assert zones_now[0].polygon[0] == (0.05, 0.5)
        assert site.camera("cam-01").zones[0].polygon == [tuple(point) for point in ZONE]  # its neighbours untouched
        cam_03_before = before[before.index("- id: cam-03"):]
        assert after.endswith(cam_03_before)
        # the editor now shows the file as saved; the version it saved over is spent
        again = editor_data(client, "cam-02")
        assert [zone["name"] for zone in again["zones"]] == ["sidewalk", "crossing"]
        assert again["version"] == response.json()["version"] != data["version"]
        stale = save(client, "cam-02", zones, data["version"], token)
        assert stale.status_code == 409 and "changed since" in stale.json()["detail"]
        # the running system's verdict, as `aibrain run` writes it after reloading
        outcome = ReloadOutcome(at=bench.clock(), file=str(file), ok=True, changes=["cam-02: zones changed"])
        replace_file(reload_file(live, (0, 1)), outcome.model_dump_json().encode())
        assert client.get("/api/cameras/reload").json()["outcome"]["changes"] == ["cam-02: zones changed"]
    with bench.sessions() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "zones_saved")).one()
    assert (entry.username, entry.target) == ("admin1", "cam-02")
    assert entry.detail == "2 zones: sidewalk, crossing"


def test_camera_names_holding_markup_are_shown_escaped(tmp_path: Path, db_url: str, pialin_street: Path) -> None:
    upgrade_to_head(db_url)
    hostile = "<script>alert('cam')</script>"
    names = WebSiteNames(camera_names=(hostile, "金陵东路口", "贵州路菜场"), zone_name="sidewalk")
    bench = Workbench.build(load_site(write_web_site(tmp_path, db_url, pialin_street, names)))
    add_person(bench, "admin1", "admin", "district")
    with http_client(bench) as client:
        sign_in(client, "admin1")
        for path in ("/cameras", "/cameras/cam-01/zones"):
            page = client.get(path)
            assert page.status_code == 200
            assert hostile not in page.text, path
            assert "&lt;script&gt;" in page.text or "\\u003cscript\\u003e" in page.text, path
        data = editor_data(client, "cam-01")
        assert data["camera"]["name"] == hostile  # the JSON block carries it as data, escaped for HTML
    assert yaml.safe_load(bench.site.file.read_text(encoding="utf-8"))["cameras"][0]["name"] == hostile

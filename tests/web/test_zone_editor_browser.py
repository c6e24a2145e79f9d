"""The cameras page and the zone editor in a real headless Chromium, driven as an administrator does:
sign in by typing, open a camera's zones, draw a polygon with real mouse clicks on the picture, drag
one of its points, fill its name, tags and grid, save. A problem comes back beside its field; the
valid zone lands in the site YAML with the file's comments kept. Screenshots go to
.test-artifacts/web-cameras.png, web-zone-editor-problem.png and web-zone-editor.png."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.support.ui import Select, WebDriverWait

from aibrain.live.live_files import CamerasFile, CameraStatus, cameras_file, live_dir, replace_file
from aibrain.web.workbench import Workbench
from configs.load import load_site
from routing.incidents import store
from streams.health import CameraState
from tests.helpers.browser import artifact
from tests.web.live_picture import put_live_picture
from tests.web.workbench_client import add_person, browser_sign_in, dispatch_incident, served

WAIT_S = 10.0
COMMENT = "# 黄浦区 cameras — zones are drawn in the workbench; this comment must stay\n"
NEW_ZONE = [(0.14, 0.16), (0.46, 0.14), (0.48, 0.44), (0.16, 0.46)]  # fractions of the picture
DRAG_PX = (36, 28)  # the third point dragged this far on screen



def write_statuses(bench: Workbench, fps: tuple[float, float, float]) -> None:
    """cameras.json as the live run rewrites it every second."""
    site, now = bench.site, bench.clock()
    statuses = [CameraStatus(camera_id=camera_id, state=state, fps=rate, updated_at=now, picture_at=now)
                for (camera_id, state), rate in zip((("cam-01", "online"), ("cam-02", "online"), ("cam-03", "offline")),
                                                    fps, strict=True)]
    replace_file(cameras_file(live_dir(site.path(site.config.evidence_dir)), (0, 1)),
                 CamerasFile(cameras=statuses).model_dump_json().encode())


def a_street_of_cameras(bench: Workbench, footage: Path) -> None:
    """Pictures, states, frames/s and incidents as a running `aibrain run` leaves them."""
    site = bench.site
    now = bench.clock()
    for camera_id in ("cam-01", "cam-02"):
        put_live_picture(site, camera_id, footage)
    write_statuses(bench, (2.0, 1.0, 0.0))
    with bench.sessions() as session, session.begin():
        for camera_id in ("cam-01", "cam-02", "cam-03"):
            store.add_camera_event(session, camera_id, CameraState.ONLINE, now - timedelta(hours=5), "")
        store.add_camera_event(session, "cam-03", CameraState.OFFLINE, now - timedelta(minutes=42), "no picture")
    dispatch_incident(bench, "cam-01", confirmed_at=now - timedelta(minutes=12))
    dispatch_incident(bench, "cam-02", confirmed_at=now - timedelta(minutes=3))



def at(browser: Any, svg: Any, point: tuple[float, float]) -> ActionChains:
    """The mouse moved to `point` (fractions) of the SVG laid over the picture."""
    width, height = svg.size["width"], svg.size["height"]
    dx, dy = round((point[0] - 0.5) * width), round((point[1] - 0.5) * height)  # Selenium 4: from the centre
    return ActionChains(browser).move_to_element_with_offset(svg, dx, dy)


def click_at(browser: Any, svg: Any, point: tuple[float, float]) -> None:
    at(browser, svg, point).click().perform()


def double_click_at(browser: Any, svg: Any, point: tuple[float, float]) -> None:
    at(browser, svg, point).double_click().perform()


def zone_card(browser: Any, index: int) -> Any:
    return browser.find_element("css selector", f'#zone-list .zone-card[data-index="{index}"]')


def test_an_administrator_draws_a_zone_and_it_lands_in_the_site_file(bench: Workbench, browser: Any,
                                                                      pialin_street: Path) -> None:
    file = bench.site.file
    file.write_text(COMMENT + file.read_text(encoding="utf-8"), encoding="utf-8")
    add_person(bench, "admin1", "admin", "district", display_name="系统管理员")
    a_street_of_cameras(bench, pialin_street)
    with served(bench) as base:
        browser_sign_in(browser, base + "/cameras", "admin1")
        wait = WebDriverWait(browser, WAIT_S, poll_frequency=0.05)
        wait.until(lambda b: len(b.find_elements("css selector", "[data-testid=camera-card]")) == 3)
        wait.until(lambda b: b.execute_script(
            "return [...document.querySelectorAll('.camera-picture img')].every(i => i.complete && i.naturalWidth)"))
        browser.save_screenshot(str(artifact("web-cameras.png")))
        # the page keeps itself current: a camera's first picture and a new rate appear without a reload
        put_live_picture(bench.site, "cam-03", pialin_street)
        write_statuses(bench, (3.5, 1.0, 0.0))
        wait = WebDriverWait(browser, WAIT_S + 5, poll_frequency=0.1)
        wait.until(lambda b: b.find_element("css selector", '[data-camera="cam-01"] [data-testid=camera-fps]').text
                   == "3.5")
        wait.until(lambda b: b.execute_script("const i = document.querySelector('[data-camera=\"cam-03\"] img');"
                                              "return !!i && i.complete && i.naturalWidth > 0"))
        wait = WebDriverWait(browser, WAIT_S, poll_frequency=0.05)

        browser.find_element("css selector", '[data-camera="cam-01"] [data-testid=edit-zones]').click()
        wait.until(lambda b: b.execute_script("const i = document.getElementById('zone-picture');"
                                              "return i.complete && i.naturalWidth > 0"))
        svg = browser.find_element("id", "zone-svg")
        shown = svg.size
        wait.until(lambda b: len(b.find_elements("css selector", "#zone-svg polygon")) == 1)

        browser.find_element("id", "new-zone").click()
        for point in NEW_ZONE:
            click_at(browser, svg, point)
        click_at(browser, svg, NEW_ZONE[0])  # the first point again closes it
        wait.until(lambda b: len(b.find_elements("css selector", "#zone-svg polygon")) == 2)
        # a zone closed by a double-click, then deleted again
        browser.find_element("id", "new-zone").click()
        click_at(browser, svg, (0.6, 0.1))
        click_at(browser, svg, (0.8, 0.1))
        double_click_at(browser, svg, (0.7, 0.3))
        wait.until(lambda b: len(b.find_elements("css selector", "#zone-svg polygon")) == 3)
        assert len(browser.find_elements("css selector", '#zone-svg circle.vertex[data-index="2"]')) == 3
        browser.find_element("id", "delete-zone").click()
        wait.until(lambda b: len(b.find_elements("css selector", "#zone-svg polygon")) == 2)
        click_at(browser, svg, (0.3, 0.3))  # inside the drawn zone: selects it again
        vertex = browser.find_element("css selector", '#zone-svg circle.vertex[data-index="1"][data-vertex="2"]')
        ActionChains(browser).click_and_hold(vertex).move_by_offset(*DRAG_PX).release().perform()

        card = zone_card(browser, 1)
        name = card.find_element("css selector", 'input[name="name"]')
        name.clear()
        name.send_keys("bike bay")  # a space: check-config refuses it, beside the name field
        card.find_element("css selector", 'input[name="tags"]').send_keys("no_parking_non_motor, bike_bay")
        Select(card.find_element("css selector", 'select[name="grid"]')).select_by_value("G-01")
        browser.find_element("id", "save-zones").click()
        problem = wait.until(lambda b: zone_card(b, 1).find_element(
            "css selector", '.field-error[data-field="name"]').text or None)
        assert "pattern" in problem
        assert COMMENT in file.read_text(encoding="utf-8") and "bike" not in file.read_text(encoding="utf-8")
        browser.save_screenshot(str(artifact("web-zone-editor-problem.png")))

        name = zone_card(browser, 1).find_element("css selector", 'input[name="name"]')
        name.clear()
        name.send_keys("bike-bay")
        browser.find_element("id", "save-zones").click()
        wait.until(lambda b: "已保存" in b.find_element("id", "save-state").text)
        assert zone_card(browser, 1).find_element("css selector", '.field-error[data-field="name"]').text == ""
        browser.find_element("id", "zone-list").click()
        browser.save_screenshot(str(artifact("web-zone-editor.png")))

    text = file.read_text(encoding="utf-8")
    assert text.startswith(COMMENT)
    zones = load_site(file).camera("cam-01").zones
    assert [zone.name for zone in zones] == ["sidewalk", "bike-bay"]
    drawn = zones[1]
    assert (drawn.grid, drawn.tags) == ("G-01", ["no_parking_non_motor", "bike_bay"])
    assert len(drawn.polygon) == 4
    dragged = (NEW_ZONE[2][0] + DRAG_PX[0] / shown["width"], NEW_ZONE[2][1] + DRAG_PX[1] / shown["height"])
    expected = [dragged if index == 2 else point for index, point in enumerate(NEW_ZONE)]
    for point, meant in zip(drawn.polygon, expected, strict=True):
        assert point == pytest.approx(meant, abs=0.004), (drawn.polygon, expected)  # a pixel or two
    assert all(len(f"{value}".split(".")[-1]) <= 4 for point in drawn.polygon for value in point)

"""Issue 10's acceptance, end to end: the workbench served inside a real `aibrain run` (the site's `web:`
section) on real footage, two file cameras looping the street clip whose sidewalk holds a parked car
(tests/app/test_reload.py). In headless Chromium, the administrator signed in with the first password the
run prints (the overview, then the zone editor) and a street's centre user added with `aibrain users add`
(the incident list and detail):

- an incident the run makes from the footage reaches the overview's live feed and the incident list
  without a reload within 2 s, measured from its `created_at` (stamped just before the commit, so the
  figure is never smaller than commit → screen) to the moment a MutationObserver in the page saw its
  element, both read off the same machine's wall clock;
- its detail shows the evidence picture;
- a zone drawn with real mouse events on the other camera, whose only zone is on the sky, is saved into
  the site file with the file's comments kept, the running `aibrain run` applies it, and the parked car
  inside it becomes an incident.

The first incident is set off by the test's own edit of the site file (cam-01's zone moved from the sky
onto the car), so both pages are open and listening before it happens. Screenshots go to
.test-artifacts/web-live-overview.png, web-live-incident.png and web-live-zone.png."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.support.ui import Select, WebDriverWait

from aibrain.live.live_files import live_dir, read_reload_outcome
from configs.load import load_site
from tests.conftest import unavailable
from tests.e2e.replay_site import CAR_ZONE
from tests.e2e.workbench_run import (
    COMMENT,
    INCIDENT_S,
    LIVE_S,
    PAGE_S,
    PASSWORD_LINE,
    START_S,
    Run,
    add_user,
    incidents,
    shown_after,
    sign_in,
    site_config,
    watch,
    write,
)
from tests.helpers.browser import artifact, chromium_missing, headless_chromium

pytestmark = pytest.mark.e2e

DRAWN_ZONE = [(0.47, 0.52), (0.97, 0.52), (0.97, 0.90), (0.47, 0.90)]  # around the parked car, inside CAR_ZONE
CENTRE, CENTRE_PASSWORD = "waitan-duty", "a street's duty officer"
FEED_ITEM = "#live-feed li"
LIST_ROW = "#incident-rows tr"


@pytest.fixture
def browsers() -> Iterator[Callable[[], Any]]:
    """Opens headless Chromiums on demand (one per signed-in person), all closed at the end."""
    reason = chromium_missing()
    if reason:
        unavailable("headless Chromium", RuntimeError(reason))
    with ExitStack() as stack:
        def open_one() -> Any:
            driver = stack.enter_context(headless_chromium())
            driver.set_window_size(1600, 1000)
            return driver
        yield open_one


def at(browser: Any, svg: Any, point: tuple[float, float]) -> ActionChains:
    """The mouse moved to `point` (fractions) of the SVG laid over the camera's picture."""
    width, height = svg.size["width"], svg.size["height"]
    dx, dy = round((point[0] - 0.5) * width), round((point[1] - 0.5) * height)  # Selenium 4: from the centre
    return ActionChains(browser).move_to_element_with_offset(svg, dx, dy)


def draw_zone(browser: Any, base: str) -> None:
    """On cam-02's zone editor: a new polygon around the parked car, named, tagged, gridded, saved."""
    browser.get(f"{base}/cameras/cam-02/zones")
    wait = WebDriverWait(browser, PAGE_S, poll_frequency=0.1)
    wait.until(lambda b: b.execute_script("const i = document.getElementById('zone-picture');"
                                          "return !!i && i.complete && i.naturalWidth > 0"), "the camera's picture")
    wait.until(lambda b: len(b.find_elements("css selector", "#zone-svg polygon")) == 1)
    svg = browser.find_element("id", "zone-svg")
    browser.find_element("id", "new-zone").click()
    for point in (*DRAWN_ZONE, DRAWN_ZONE[0]):  # the first point again closes it
        at(browser, svg, point).click().perform()
    wait.until(lambda b: len(b.find_elements("css selector", "#zone-svg polygon")) == 2)
    card = browser.find_element("css selector", '#zone-list .zone-card[data-index="1"]')
    name = card.find_element("css selector", 'input[name="name"]')
    name.clear()
    name.send_keys("kerb-west")
    card.find_element("css selector", 'input[name="tags"]').send_keys("no_parking_motor")
    Select(card.find_element("css selector", 'select[name="grid"]')).select_by_value("G-01")
    browser.find_element("id", "save-zones").click()
    wait.until(lambda b: "已保存" in b.find_element("id", "save-state").text
               or "bad" in (b.find_element("id", "save-state").get_attribute("class") or ""))
    assert "已保存" in browser.find_element("id", "save-state").text, browser.find_element("id", "zone-list").text


def test_an_incident_of_the_live_run_reaches_the_workbench_and_a_drawn_zone_makes_another(
        tmp_path: Path, pialin_street: Path, yolo_onnx: Path, browsers: Callable[[], Any],
        record_property: Callable[[str, object], None]) -> None:
    config = site_config(tmp_path, pialin_street, yolo_onnx)
    site_file = tmp_path / "site.yaml"
    write(site_file, config)
    base = f"http://127.0.0.1:{config['web']['port']}"
    with Run(site_file) as run:
        run.until(lambda: PASSWORD_LINE.search(run.output) is not None, START_S, "the first sign-in line")
        match = PASSWORD_LINE.search(run.output)
        assert match is not None
        password = match.group(1)
        run.until(lambda: "running 2 camera(s)" in run.output, START_S, "the run to start its cameras")

        overview, listing = browsers(), browsers()
        sign_in(overview, f"{base}/", "admin", password)
        WebDriverWait(overview, PAGE_S).until(
            lambda b: b.find_element("id", "live-state").get_attribute("data-state") == "live", "the live stream")
        watch(overview, FEED_ITEM)
        # A street's command centre, added while the run goes on.
        add_user(site_file, CENTRE, CENTRE_PASSWORD, "--role", "centre", "--scope", "street:外滩街道",
                 "--name", "外滩街道 值班长")
        sign_in(listing, f"{base}/incidents", CENTRE, CENTRE_PASSWORD)
        watch(listing, LIST_ROW)
        assert incidents(config["database"]) == [], "a zone on the sky makes no incident"

        # (a) cam-01's zone moved onto the parked car: the run reloads and, after the dwell, reports it.
        config["cameras"][0]["zones"] = [{"name": "kerb-east", "grid": "G-01", "tags": ["no_parking_motor"],
                                          "polygon": CAR_ZONE}]
        write(site_file, config)
        run.until(lambda: len(incidents(config["database"])) == 1, INCIDENT_S, "cam-01's parked car as an incident")
        first = incidents(config["database"])[0]
        assert (first.camera_id, first.kind, first.zone) == ("cam-01", "motor_parking", "kerb-east")
        heard_overview, on_overview = shown_after(overview, first, FEED_ITEM, run)
        heard_list, on_list = shown_after(listing, first, LIST_ROW, run)
        for figure, value in (("overview_event_s", heard_overview), ("overview_screen_s", on_overview),
                              ("list_event_s", heard_list), ("list_screen_s", on_list)):
            record_property(figure, round(value, 3))
        print(f"created_at → screen: overview {on_overview:.3f} s (event {heard_overview:.3f} s), "
              f"list {on_list:.3f} s (event {heard_list:.3f} s)")
        assert 0 < on_overview < LIVE_S and 0 < on_list < LIVE_S, (on_overview, on_list)
        feed_item = overview.find_element("css selector", f'{FEED_ITEM}[data-incident="{first.id}"]')
        assert "汇丰购物广场东门" in feed_item.text
        # The counters and the map follow without a reload (a debounced re-read of /api/overview).
        WebDriverWait(overview, PAGE_S).until(lambda b: b.find_element("id", "counter-detected").text == "1",
                                              "the 发现 counter at 1")
        time.sleep(1.0)  # the map's new marker is drawn (an ECharts animation)
        assert overview.save_screenshot(str(artifact("web-live-overview.png")))

        # (b) its detail, from the list: the evidence picture the run stored.
        listing.find_element("css selector", f'{LIST_ROW}[data-incident="{first.id}"] a.incident-link').click()
        WebDriverWait(listing, PAGE_S).until(lambda b: b.current_url == f"{base}/incidents/{first.id}")
        WebDriverWait(listing, PAGE_S).until(lambda b: b.execute_script(
            "const i = document.getElementById('evidence'); return !!i && i.complete && i.naturalWidth > 0"),
            "the evidence picture")
        assert listing.find_element("id", "evidence").get_attribute("src") == f"{base}/evidence/{first.id}"
        assert first.snapshot and Path(first.snapshot).is_file()
        assert listing.save_screenshot(str(artifact("web-live-incident.png")))

        # (c) a zone drawn on cam-02 (its only zone on the sky) around the same car, saved as admin.
        listing.get(f"{base}/incidents")
        watch(listing, LIST_ROW)
        saved_at = datetime.now().astimezone()
        draw_zone(overview, base)
        text = site_file.read_text(encoding="utf-8")
        assert text.startswith(COMMENT), text[:500]
        drawn = load_site(site_file).camera("cam-02").zones
        assert [(zone.name, zone.grid, zone.tags) for zone in drawn] == [
            ("sky", "G-01", ["no_parking_motor"]), ("kerb-west", "G-01", ["no_parking_motor"])]
        for point, meant in zip(drawn[1].polygon, DRAWN_ZONE, strict=True):
            assert point == pytest.approx(meant, abs=0.01), drawn[1].polygon
        run.until(lambda: "applied: zones and rules rebuilt: cam-02" in run.output, PAGE_S, "the reload applied")
        outcome = read_reload_outcome(live_dir(tmp_path / "var" / "evidence"))
        assert outcome is not None and outcome.ok and "zones and rules rebuilt: cam-02" in outcome.changes
        WebDriverWait(overview, 35).until(lambda b: "已应用" in b.find_element("id", "reload-state").text,
                                          f"the editor shows the reload applied; {run.tail()}")
        assert overview.save_screenshot(str(artifact("web-live-zone.png")))
        run.until(lambda: any(i.camera_id == "cam-02" for i in incidents(config["database"])), INCIDENT_S,
                  "the parked car inside the drawn zone as an incident")
        second = next(i for i in incidents(config["database"]) if i.camera_id == "cam-02")
        assert (second.kind, second.zone) == ("motor_parking", "kerb-west") and second.created_at > saved_at
        _, second_on_list = shown_after(listing, second, LIST_ROW, run)
        record_property("list_screen_s_second", round(second_on_list, 3))
        print(f"drawn zone's incident: created_at → list {second_on_list:.3f} s")
        assert 0 < second_on_list < LIVE_S

        for browser in (overview, listing):
            problems = [entry["message"] for entry in browser.get_log("browser")
                        if entry["level"] == "SEVERE" and "favicon.ico" not in entry["message"]]
            assert not problems  # no script error, nothing refused by the CSP
            browser.get("about:blank")  # closes the live stream before the run stops
    assert run.returncode == 0, run.output[-4000:]
    assert len(incidents(config["database"])) == 2

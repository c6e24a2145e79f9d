"""`aibrain replay --report`: the analyst's HTML report, opened in headless Chromium as they would open it,
with its CSV and JSON beside it; a screenshot of it is kept under .test-artifacts/."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable
from pathlib import Path

import av
import pytest

from tests.conftest import unavailable
from tests.e2e.replay_site import ORIGIN, aibrain_replay, read_json_lines, write_site
from tests.helpers.browser import artifact, chromium_missing, headless_chromium

pytestmark = pytest.mark.e2e

EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//|@import|url\(""", re.IGNORECASE)
VIDEO_SIZE_JS = """
const done = arguments[arguments.length - 1];
const video = document.createElement("video");
video.onloadedmetadata = () => done([video.videoWidth, video.duration]);
video.onerror = () => done(["error", video.error && video.error.code]);
video.src = arguments[0];
"""


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory, pialin_street: Path, yolo_onnx: Path) -> Path:
    """A replay of a folder holding the street clip and a broken file, with --report and --clips."""
    work = tmp_path_factory.mktemp("report")
    folder = work / "recordings"
    folder.mkdir()
    (folder / "a_broken.mp4").write_bytes(b"\x00not a video" * 200)
    (folder / "b_street.mp4").symlink_to(pialin_street)
    site = write_site(work, str(pialin_street), yolo_onnx)
    run = aibrain_replay(site, folder, "--origin", ORIGIN, "--report", work / "report", "--clips",
                         "--json", work / "incidents.jsonl")
    assert run.returncode == 1 and "a_broken.mp4" in run.stderr, run.stderr[-3000:]
    assert f"report: {work / 'report' / 'report.html'}" in run.stdout
    return work / "report"


def test_csv_opens_in_excel_with_chinese_labels_and_json_matches_it(report: Path) -> None:
    raw = (report / "incidents.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "UTF-8 with BOM, or Excel shows mojibake"
    with (report / "incidents.csv").open(encoding="utf-8-sig", newline="") as rows:
        [row] = list(csv.DictReader(rows))
    assert (row["kind"], row["kind_label_zh"], row["grid_name"], row["worker_name"], row["camera_name"]) == \
        ("motor_parking", "机动车乱停放", "第一网格", "张伟", "广场路口")
    assert row["confirmed_at"].startswith("2026-05-01T09:00:0") and row["confirmed_at"].endswith("+08:00")
    assert (report / row["snapshot"]).is_file() and (report / row["clip"]).is_file(), "paths inside the report"
    [exported] = json.loads((report / "incidents.json").read_text(encoding="utf-8"))
    [replayed] = read_json_lines(report.parent / "incidents.jsonl")
    assert exported["incident_id"] == replayed["incident_id"] == row["incident_id"]
    assert exported["media_time_s"] == replayed["media_time_s"] == float(row["media_time_s"])


def test_evidence_clip_covers_the_seconds_around_the_confirmation(report: Path) -> None:
    [incident] = json.loads((report / "incidents.json").read_text(encoding="utf-8"))
    with av.open(str(report / incident["clip"])) as clip:
        stream = clip.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert clip.duration is not None
        seconds = clip.duration / av.time_base
    expected = min(incident["media_time_s"], 5.0) + min(7.5 - incident["media_time_s"], 2.0)  # 7.5 s clip
    assert seconds == pytest.approx(expected, abs=0.2)


def test_report_is_self_contained_and_shows_its_thumbnails_in_chromium(
        report: Path, record_property: Callable[[str, object], None]) -> None:
    page = report / "report.html"
    html = page.read_text(encoding="utf-8")
    assert EXTERNAL.search(html) is None, "nothing may come from the network: no CDN, fonts or scripts"
    reason = chromium_missing()
    if reason:
        unavailable("headless Chromium", RuntimeError(reason))
    with headless_chromium() as browser:
        browser.get(page.as_uri())
        images = browser.execute_script(
            "return [...document.images].map(i => [i.complete, i.naturalWidth, i.src.slice(0, 23)])")
        # The clip is 300 px wide: under the thumbnail width, so the snapshot is not scaled.
        assert images == [[True, 300, "data:image/jpeg;base64,"]], "the evidence thumbnail rendered"
        loaded = browser.execute_script("return performance.getEntriesByType('resource').map(r => r.name)")
        assert all(name.startswith("file:") for name in loaded), loaded
        text = {section: browser.find_element("id", section).text
                for section in ("by-kind", "by-grid", "timeline", "incidents", "files", "settings")}
        assert "机动车乱停放" in text["by-kind"] and "motor_parking" in text["by-kind"]
        assert "G-01" in text["by-grid"] and "第一网格" in text["by-grid"]
        assert len(browser.find_elements("css selector", "#timeline .mark")) == 1
        for shown in ("张伟", "sidewalk", "2026-05-01 09:00:0", "b_street.mp4"):
            assert shown in text["incidents"], shown
        assert "a_broken.mp4" in text["files"] and "cannot read" in text["files"]
        assert "realtime" not in text["settings"] and "max" in text["settings"]
        clip = browser.find_element("css selector", "#incidents a[href$='.mp4']").get_attribute("href")
        width, duration = browser.execute_async_script(VIDEO_SIZE_JS, clip)
        assert width == 300 and duration > 1, "the evidence clip plays in the browser"
        browser.set_window_size(1280, browser.execute_script("return document.documentElement.scrollHeight"))
        screenshot = artifact("replay-report.png")
        assert browser.save_screenshot(str(screenshot))
    record_property("screenshot", str(screenshot))
    print(f"screenshot of the replay report: {screenshot}")

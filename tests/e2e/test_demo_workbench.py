"""The README's demo (scripts/demo.sh: `aibrain run --config configs/examples/site.yaml`) serves the
workbench too: it prints where to sign in and, on its first start only, the first administrator's
generated password — on stdout, once, in no log line. Signing in with it over HTTP opens the overview;
SIGTERM stops run and workbench cleanly; a second start on the same database prints no password."""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from aibrain.assets import PROJECT_ROOT, assets_dir
from tests.helpers.live_run import LiveRun
from tests.helpers.rtsp import free_port
from tests.web.workbench_client import CSRF_INPUT

pytestmark = pytest.mark.e2e

EXAMPLES = PROJECT_ROOT / "configs" / "examples"
START_S = 120.0  # the run loads its model before it announces the workbench
STOP_S = 15.0
WORKBENCH_LINE = re.compile(r"^workbench: http://127\.0\.0\.1:(\d+)/$", re.MULTILINE)
PASSWORD_LINE = re.compile(r"^first sign-in: user 'admin', password '([^']+)'", re.MULTILINE)


def demo_site(folder: Path, port: int) -> Path:
    """The example site and its grids copied as they are, only the workbench's port changed."""
    shutil.copy(EXAMPLES / "grids.geojson", folder / "grids.geojson")
    text = (EXAMPLES / "site.yaml").read_text(encoding="utf-8")
    assert text.count("\n  port: 8080\n") == 1, "the example's web.port moved: update this test"
    site = folder / "site.yaml"
    site.write_text(text.replace("\n  port: 8080\n", f"\n  port: {port}\n"), encoding="utf-8")
    return site


def start(run: LiveRun) -> None:
    run.wait_for("workbench: http://", START_S)
    run.wait_for("running 1 camera(s)", START_S)


def sign_in(base: str, password: str) -> str:
    """The sign-in form as a browser sends it (its CSRF token and cookie); returns the overview page."""
    with httpx.Client(base_url=base, timeout=10) as client:
        form = client.get("/login")
        assert form.status_code == 200
        token = CSRF_INPUT.search(form.text)
        assert token, form.text[:2000]
        answer = client.post("/login", data={"username": "admin", "password": password,
                                             "csrf_token": token.group(1), "next": "/"})
        assert answer.status_code == 303 and answer.headers["location"] == "/", answer.text[:2000]
        overview = client.get("/")
        assert overview.status_code == 200
        return overview.text


def test_the_demo_serves_the_workbench_and_prints_the_first_password_once(
        tmp_path: Path, yolo_onnx: Path, pialin_street: Path, monkeypatch: pytest.MonkeyPatch,
        record_property: Callable[[str, object], None]) -> None:
    monkeypatch.setenv("AIBRAIN_ASSETS", str(assets_dir()))  # as scripts/demo.sh exports it
    port = free_port()
    site = demo_site(tmp_path, port)
    base = f"http://127.0.0.1:{port}"

    with LiveRun(site) as first:
        start(first)
        shown = WORKBENCH_LINE.search(first.output)
        assert shown is not None and int(shown.group(1)) == port, first.output[-3000:]
        password_line = PASSWORD_LINE.search(first.output)
        assert password_line is not None, first.output[-3000:]
        password = password_line.group(1)
        overview = sign_in(base, password)
        assert "指挥大屏" in overview and 'id="live-feed"' in overview
        stopping = time.monotonic()  # the block's end sends SIGTERM and waits for the exit
    stop_s = time.monotonic() - stopping
    record_property("first_stop_s", round(stop_s, 2))
    assert first.returncode == 0, first.output[-3000:]
    assert stop_s < STOP_S, f"stopped {stop_s:.1f} s after SIGTERM"
    assert "graceful shutdown" not in first.output, first.output[-3000:]
    # Shown once, on a line of its own on stdout: never in a log line.
    assert [line.split(",")[0] for line in first.output.splitlines() if password in line] == \
        ["first sign-in: user 'admin'"]

    with LiveRun(site) as second:
        start(second)
        assert "first sign-in" not in second.output and password not in second.output
        assert "指挥大屏" in sign_in(base, password)  # the same administrator, kept in the database
        stopping = time.monotonic()
    stop_s = time.monotonic() - stopping
    record_property("second_stop_s", round(stop_s, 2))
    assert second.returncode == 0 and stop_s < STOP_S, (stop_s, second.output[-3000:])

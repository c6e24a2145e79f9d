"""scripts/bench_web.py, run as a user runs it but tiny: the seeded PostgreSQL, `aibrain web`, signed-in
listeners on the live stream and page requests, and every figure of its report."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from aibrain.assets import PROJECT_ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.integration]  # `aibrain web` on PostgreSQL, for half a minute

BENCH = PROJECT_ROOT / "scripts" / "bench_web.py"
PAGES = ("list", "filtered", "detail", "all")


def test_bench_web_reports_latencies_and_no_missed_events(pg_url: str) -> None:
    # The fixture's database is only the door in: the script makes and drops its own beside it.
    run = subprocess.run([sys.executable, str(BENCH), "--incidents", "2000", "--clients", "5", "--rate", "5",
                          "--duration", "5", "--pg-admin-url", pg_url],
                         capture_output=True, text=True, timeout=300, cwd=PROJECT_ROOT)
    out = run.stdout
    assert run.returncode in (0, 2), out + run.stderr  # 2: the machine too busy for the latency goal, not a failure
    assert re.search(r"^seeded 2000 incidents with their audit rows", out, re.M), out
    for page in PAGES:
        figures = re.search(rf"^{page} +(\d+) requests  p50 +(\d+\.\d) ms  p99 +(\d+\.\d) ms$", out, re.M)
        assert figures, f"{page} missing:\n{out}"
        assert int(figures[1]) > 0 and 0 < float(figures[2]) <= float(figures[3]), out
    done = re.search(r"^all +(\d+) requests", out, re.M)
    assert done and int(done[1]) >= 20, out  # 5 a second for 5 s
    assert "errors 0\n" in out
    events = re.search(r"^live events: (\d+) incidents dispatched to 5 listeners, missed 0; outside their scope 0; "
                       r"streams ended early 0; listeners failed 0$", out, re.M)
    assert events and int(events[1]) >= 8, out  # one every 0.5 s for 5 s, each seen by every listener in scope
    assert re.search(r"^live delay from commit: p50 \d+ ms, p99 \d+ ms$", out, re.M), out
    assert re.search(r"^CPU over 8 s \(\d+ cores, machine \d+% busy\): server \d+% of a core", out, re.M), out
    assert re.search(r"^goal p99 < 300 ms and 0 missed: (met|NOT met) \(p99 \d+ ms, missed 0\)$", out, re.M), out

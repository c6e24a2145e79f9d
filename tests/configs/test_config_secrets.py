"""A value shaped like `user:password@` is never echoed by check-config, whatever field holds it and
whatever is wrong with it: a mistyped URL scheme, a value in the wrong field, a bad id."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from configs.load import ConfigError, load_site
from tests.configs.test_load_site import good_site, write_site

Site = dict[str, Any]
CREDENTIALS = "admin:Pa@hunter2"  # the `@` in the password is deliberate
SECRET = "hunter2"


def camera(site: Site) -> dict[str, Any]:
    return site["cameras"][0]


CASES: list[tuple[str, Callable[[Site], None]]] = [
    ("a stream URL with a mistyped scheme", lambda s: camera(s).update(url=f"rtsp:/{CREDENTIALS}@10.0.0.7/live")),
    ("a stream URL without its scheme", lambda s: camera(s).update(url=f"{CREDENTIALS}@10.0.0.7/live")),
    ("a stream URL with a scheme of one colon", lambda s: camera(s).update(url=f"rtsp:{CREDENTIALS}@10.0.0.7")),
    ("a URL as the model", lambda s: s.update(model=f"http:/{CREDENTIALS}@models/best.onnx")),
    ("a URL as the grids file", lambda s: s.update(grids=f"{CREDENTIALS}@host/grids.geojson")),
    ("a URL as the taxonomy", lambda s: s.update(taxonomy=f"{CREDENTIALS}@host/taxonomy.yaml")),
    ("a URL as the model card", lambda s: s.update(model="best.onnx", model_card=f"{CREDENTIALS}@host/card.yaml")),
    ("a URL as the broker's CA", lambda s: s.update(broker="amqps://mq/", broker_tls={
        "ca_file": f"{CREDENTIALS}@host/ca.pem"})),
    ("a URL as the time zone", lambda s: s.update(timezone=f"{CREDENTIALS}@host")),
    ("a URL as a shift", lambda s: s["workers"][0].update(shifts=[f"{CREDENTIALS}@host"])),
    ("a URL as a zone's grid", lambda s: camera(s)["zones"][0].update(grid=f"{CREDENTIALS}@host")),
    ("a URL as a camera id", lambda s: camera(s).update(id=f"{CREDENTIALS}@host")),
    ("a URL as a rule's kind", lambda s: s["rules"][0].update(kind=f"{CREDENTIALS}@host")),
    ("a URL as a key", lambda s: camera(s).update({f"{CREDENTIALS}@host": 1})),
    ("a URL as an allowed kind", lambda s: camera(s)["zones"][0].update(allow={f"{CREDENTIALS}@host": []})),
    ("a URL as an escalation grid", lambda s: s.update(escalation={"grids": {f"{CREDENTIALS}@host": ["x"]}})),
    ("a URL as a database", lambda s: s.update(database=f"postgresql:/{CREDENTIALS}@db/x")),
    ("a URL as the broker", lambda s: s.update(broker=f"amqp:/{CREDENTIALS}@mq")),
]


@pytest.mark.parametrize("break_site", [case[1] for case in CASES], ids=[case[0] for case in CASES])
def test_no_problem_echoes_credentials(tmp_path: Path, break_site: Callable[[Site], None]) -> None:
    site = good_site()
    break_site(site)
    with pytest.raises(ConfigError) as caught:
        load_site(write_site(tmp_path, site))
    assert SECRET not in str(caught.value), caught.value
    for problem in caught.value.problems:
        assert SECRET not in f"{problem.file} {problem.field} {problem.message}", problem


def test_check_config_with_a_mistyped_scheme_names_the_field_not_the_password(tmp_path: Path) -> None:
    site = good_site()
    camera(site)["url"] = f"rtsp:/{CREDENTIALS}@10.0.0.7:554/Streaming/Channels/101"
    path = write_site(tmp_path, site)
    run = subprocess.run([sys.executable, "-m", "aibrain", "check-config", str(path)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2, run.stderr
    assert "cameras[0] (cam-01).url" in run.stderr and "rtsp://" in run.stderr, run.stderr
    assert SECRET not in run.stdout + run.stderr, run.stderr


def test_check_config_of_a_file_named_like_a_url_does_not_echo_it() -> None:
    run = subprocess.run([sys.executable, "-m", "aibrain", "check-config", f"rtsp:/{CREDENTIALS}@10.0.0.7/live"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and "cannot read the file" in run.stderr, run.stderr
    assert SECRET not in run.stdout + run.stderr, run.stderr


def test_an_unencoded_at_in_a_database_password_is_refused(tmp_path: Path) -> None:
    """SQLAlchemy ends the password at its first `@`, so the rest would be taken for the host name and
    quoted by the driver's "cannot resolve host" error."""
    site = good_site() | {"database": f"postgresql+psycopg://{CREDENTIALS}@db-host/aibrain"}
    with pytest.raises(ConfigError) as caught:
        load_site(write_site(tmp_path, site))
    [problem] = caught.value.problems
    assert problem.field == "database" and "write an @ in the password as %40" in problem.message, problem
    assert SECRET not in str(caught.value)
    encoded = CREDENTIALS.replace("@", "%40")
    load_site(write_site(tmp_path, good_site() | {"database": f"postgresql+psycopg://{encoded}@db-host/aibrain"}))

"""Site settings for the broker: `broker_tls` and workers' `broker_password`, checked at start-up
with the field named, and never echoing a password."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from aibrain.broker_setup.broker_settings import broker_tls
from configs.load import ConfigError, load_site
from routing.broker.connection import TlsFiles
from tests.configs.test_load_site import good_site, write_site
from tests.helpers.tls import Pki, make_test_pki

AMQPS = "amqps://aibrain:pipeline-pw@mq.example:5671/%2F"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_test_pki(tmp_path_factory.mktemp("pki"))


def problems(tmp_path: Path, **settings: object) -> str:
    with pytest.raises(ConfigError) as caught:
        load_site(write_site(tmp_path, good_site() | settings))
    report = str(caught.value)
    assert "pipeline-pw" not in report
    return report


def test_tls_files_load_relative_to_the_site(tmp_path: Path, pki: Pki) -> None:
    for path in (pki.ca, pki.client_cert, pki.client_key):
        shutil.copy(path, tmp_path / path.name)
    site = load_site(write_site(tmp_path, good_site() | {
        "broker": AMQPS, "broker_tls": {"ca_file": "ca.pem", "cert_file": "client.pem", "key_file": "client.key"}}))
    assert broker_tls(site) == TlsFiles(tmp_path / "ca.pem", tmp_path / "client.pem", tmp_path / "client.key")


def test_no_tls_settings_means_system_cas(tmp_path: Path) -> None:
    assert broker_tls(load_site(write_site(tmp_path, good_site() | {"broker": AMQPS}))) is None


def test_tls_settings_need_an_amqps_broker(tmp_path: Path, pki: Pki) -> None:
    plain = problems(tmp_path, broker="amqp://aibrain:pipeline-pw@mq:5672/%2F", broker_tls={"ca_file": str(pki.ca)})
    assert "broker_tls: set, but the site's broker URL does not start with amqps://" in plain
    assert "broker_tls: set, but" in problems(tmp_path, broker_tls={"ca_file": str(pki.ca)})


def test_bad_tls_files_are_named(tmp_path: Path, pki: Pki) -> None:
    (tmp_path / "garbage.pem").write_text("not a certificate\n")
    assert "broker_tls.ca_file: file" in problems(tmp_path, broker=AMQPS, broker_tls={"ca_file": "missing.pem"})
    assert "broker_tls.ca_file: not a usable PEM file" in problems(tmp_path, broker=AMQPS,
                                                                    broker_tls={"ca_file": "garbage.pem"})
    mismatched = {"cert_file": str(pki.client_cert), "key_file": str(pki.server_key)}
    assert "broker_tls.cert_file: not a usable PEM file" in problems(tmp_path, broker=AMQPS, broker_tls=mismatched)
    assert "broker_tls.key_file: set without cert_file" in problems(
        tmp_path, broker=AMQPS, broker_tls={"key_file": str(pki.client_key)})
    assert "broker_tls.ca_fil" in problems(tmp_path, broker=AMQPS, broker_tls={"ca_fil": str(pki.ca)})


def test_worker_broker_password(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = good_site()
    site["workers"][0]["broker_password"] = "${W001_AMQP_PASSWORD}"
    path = write_site(tmp_path, site)
    monkeypatch.setenv("W001_AMQP_PASSWORD", "short")
    with pytest.raises(ConfigError, match=r"workers\[0\] \(w-001\)\.broker_password: .*at least 8") as caught:
        load_site(path)
    assert "short" not in str(caught.value)
    monkeypatch.setenv("W001_AMQP_PASSWORD", "long-enough-secret")
    loaded = load_site(path)
    password = loaded.config.workers[0].broker_password
    assert password is not None and password.get_secret_value() == "long-enough-secret"
    assert "long-enough-secret" not in repr(loaded.config)

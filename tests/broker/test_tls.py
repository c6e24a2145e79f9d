"""amqps:// through a real TLS terminator (socat) in front of the real broker: the broker's
certificate is checked against the configured CA and host, client certificates work, and a
refused certificate gives an error that says so."""

from __future__ import annotations

import shutil
import ssl
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pika
import pika.exceptions
import pytest

from aibrain.broker_setup.broker_settings import broker_tls, site_topology, url_as
from aibrain.broker_setup.credentials_file import read_passwords
from aibrain.broker_setup.provision_command import ProvisionError, provision_site
from routing.broker.connection import TlsFiles, connection_failure, connection_parameters
from routing.broker.management_api import ManagementApi
from tests.broker.conftest import BrokerSite, connect, publish
from tests.conftest import AMQP_URL, unavailable
from tests.helpers.tls import Pki, make_test_pki, tls_terminator

BROKER = pika.URLParameters(AMQP_URL)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    if shutil.which("openssl") is None:
        unavailable("openssl", FileNotFoundError("the openssl command (Debian package openssl)"))
    return make_test_pki(tmp_path_factory.mktemp("pki"))


def terminator(pki: Pki, folder: Path, *, require_client_cert: bool = False) -> Iterator[int]:
    try:
        with tls_terminator(pki, (BROKER.host, BROKER.port), folder / "socat.log",
                            require_client_cert=require_client_cert) as port:
            yield port
    except FileNotFoundError as exc:
        unavailable("TLS terminator", exc)


@pytest.fixture(scope="module")
def tls_port(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    yield from terminator(pki, tmp_path_factory.mktemp("socat"))


@pytest.fixture(scope="module")
def mutual_tls_port(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    yield from terminator(pki, tmp_path_factory.mktemp("socat-mutual"), require_client_cert=True)


def amqps_url(port: int, host: str = "127.0.0.1", url: str = AMQP_URL) -> str:
    parts = urlsplit(url)
    userinfo = parts.netloc.rpartition("@")[0]
    return parts._replace(scheme="amqps", netloc=f"{userinfo}@{host}:{port}").geturl()


def round_trip(url: str, tls: TlsFiles) -> bytes:
    """Publish a message to a fresh queue and get it back, over `url`."""
    connection = connect(url, tls)
    try:
        channel = connection.channel()
        queue = channel.queue_declare("", exclusive=True).method.queue
        channel.confirm_delivery()
        channel.basic_publish("", queue, b"over TLS")
        method, _, body = channel.basic_get(queue, auto_ack=True)
        assert method is not None
        return body
    finally:
        connection.close()


def refused_with(url: str, tls: TlsFiles) -> str:
    with pytest.raises((pika.exceptions.AMQPError, ssl.SSLError)) as failure:
        connect(url, tls).close()
    return connection_failure(failure.value)


def test_amqps_reaches_the_broker_when_its_certificate_is_trusted(pki: Pki, tls_port: int) -> None:
    assert round_trip(amqps_url(tls_port), TlsFiles(ca_file=pki.ca)) == b"over TLS"


def test_a_broker_certificate_from_another_ca_is_refused(pki: Pki, tls_port: int) -> None:
    message = refused_with(amqps_url(tls_port), TlsFiles(ca_file=pki.other_ca))
    assert message.startswith("TLS: the broker's certificate was refused:"), message
    system_cas = refused_with(amqps_url(tls_port), TlsFiles())
    assert system_cas.startswith("TLS: the broker's certificate was refused:"), system_cas


def test_a_certificate_for_another_host_is_refused(pki: Pki, tls_port: int) -> None:
    message = refused_with(amqps_url(tls_port, host="localhost"), TlsFiles(ca_file=pki.ca))
    assert "certificate was refused" in message and "localhost" in message, message


def test_a_broker_that_asks_for_a_client_certificate(pki: Pki, mutual_tls_port: int) -> None:
    url = amqps_url(mutual_tls_port)
    message = refused_with(url, TlsFiles(ca_file=pki.ca))
    assert message.startswith("TLS: the broker ended the handshake:") and "certificate required" in message, message
    client = TlsFiles(ca_file=pki.ca, cert_file=pki.client_cert, key_file=pki.client_key)
    assert round_trip(url, client) == b"over TLS"


def test_tls_files_with_a_plain_url_are_refused(pki: Pki) -> None:
    with pytest.raises(ValueError, match="use amqps://"):
        connection_parameters(AMQP_URL, tls=TlsFiles(ca_file=pki.ca))


def test_provision_and_workers_over_amqps(pki: Pki, tls_port: int, admin_api: ManagementApi,
                                          broker_site: BrokerSite) -> None:
    """The whole site over TLS: provisioning declares the topology through the terminator, and a
    worker's URL from the credentials file is amqps:// and works with the site's CA."""
    shutil.copy(pki.ca, broker_site.folder / "broker-ca.pem")
    site = broker_site.write({"w-a": None}, broker_url=amqps_url(tls_port),
                             broker_tls={"ca_file": "broker-ca.pem"})
    tls = broker_tls(site)
    assert tls == TlsFiles(ca_file=broker_site.folder / "broker-ca.pem")
    credentials = broker_site.folder / "workers.txt"
    assert provision_site(site, admin_api, credentials) == 0

    topology = site_topology(site)
    [worker_url] = [line for line in credentials.read_text().splitlines() if not line.startswith("#")]
    assert worker_url.startswith("amqps://")
    pipeline = connect(site.broker_url() or "", tls)
    worker = connect(worker_url, tls)
    try:
        channel = pipeline.channel()
        channel.confirm_delivery()
        publish(channel, topology.exchange, topology.worker_routing_key("w-a"))
        method, _, _ = worker.channel().basic_get(topology.worker_queue("w-a"), auto_ack=True)
        assert method is not None
    finally:
        pipeline.close()
        worker.close()
    user = topology.worker_user("w-a")
    assert url_as(site.broker_url() or "", user, read_passwords(credentials)[user]) == worker_url


def test_provision_says_when_the_brokers_certificate_is_refused(pki: Pki, tls_port: int, admin_api: ManagementApi,
                                                                broker_site: BrokerSite) -> None:
    shutil.copy(pki.other_ca, broker_site.folder / "wrong-ca.pem")
    site = broker_site.write({"w-a": "configured-secret-a"}, broker_url=amqps_url(tls_port),
                             broker_tls={"ca_file": "wrong-ca.pem"})
    with pytest.raises(ProvisionError) as refused:
        provision_site(site, admin_api, None)
    message = str(refused.value)
    assert f"cannot declare the topology at amqps://***@127.0.0.1:{tls_port}/" in message
    assert "TLS: the broker's certificate was refused: unable to get local issuer certificate" in message
    assert broker_site.pipeline_password not in message

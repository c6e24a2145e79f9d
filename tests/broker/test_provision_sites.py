"""Two sites on one broker under the same queue prefix, each in a virtual host of its own:
provisioning one leaves the other's users alone, and a worker sees nothing of the other site."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pika.exceptions
import pytest

from aibrain.broker_setup.broker_settings import site_topology, url_as
from aibrain.broker_setup.credentials_file import read_passwords
from aibrain.broker_setup.provision_command import ProvisionError, provision_site
from configs.load import Site
from routing.broker.admin import BrokerAdmin, BrokerAdminError
from routing.broker.grants import worker_grant
from routing.broker.management_api import ManagementApi
from tests.broker.conftest import BrokerSite, can_log_in, connect, publish, rabbitmqctl


@dataclass
class TwoSites:
    a: BrokerSite
    b: BrokerSite

    def worker_url(self, site: Site, worker_id: str, password: str | None = None) -> str:
        """The worker's URL in `site`'s vhost: its configured password, or the one in the credentials file."""
        user = site_topology(site).worker_user(worker_id)
        return url_as(site.broker_url() or "", user,
                      password or read_passwords(site.file.parent / "workers.txt")[user])


@pytest.fixture
def two_sites(admin_api: ManagementApi, tmp_path: Path) -> Iterator[TwoSites]:
    prefix = f"t{uuid.uuid4().hex[:10]}"
    sites = TwoSites(*(BrokerSite(tmp_path / name, prefix, vhost=f"{prefix}-site-{name}",
                                  pipeline_name=f"pipeline-{name}") for name in ("a", "b")))
    for site in (sites.a, sites.b):
        site.folder.mkdir()
    try:
        yield sites
    finally:
        for user in admin_api.users():
            if user.startswith(prefix):
                admin_api.delete_user(user)
        for site in (sites.a, sites.b):
            with contextlib.suppress(BrokerAdminError):  # never made: the test failed before provisioning it
                admin_api.request("DELETE", f"/api/vhosts/{quote(site.vhost, safe='')}")


def provision(site: Site, admin: BrokerAdmin) -> int:
    return provision_site(site, admin, site.file.parent / "workers.txt")


@pytest.mark.parametrize("backend", ["management API", "rabbitmqctl"])
def test_provisioning_a_site_leaves_another_sites_workers_alone(
        backend: str, admin_api: ManagementApi, two_sites: TwoSites, capsys: pytest.CaptureFixture[str]) -> None:
    admin: BrokerAdmin = admin_api if backend == "management API" else rabbitmqctl()
    site_b = two_sites.b.write({"w-b": None, "w-c": "configured-secret-c"})
    assert provision(site_b, admin_api) == 0
    b_workers = [two_sites.worker_url(site_b, "w-b"), two_sites.worker_url(site_b, "w-c", "configured-secret-c")]
    capsys.readouterr()

    assert provision(two_sites.a.write({"w-a": None, "w-gone": None}), admin) == 0
    site_a = two_sites.a.write({"w-a": None})
    assert provision(site_a, admin) == 0  # w-gone leaves site A: its user goes, site B's stay

    users = admin_api.users()
    topology = site_topology(site_a)
    assert topology.worker_user("w-gone") not in users
    assert {topology.worker_user(w) for w in ("w-a", "w-b", "w-c")} <= set(users)
    assert all(can_log_in(url) for url in b_workers), "site B's workers still log in"
    assert can_log_in(two_sites.worker_url(site_a, "w-a"))
    out = capsys.readouterr().out
    assert f"user {topology.worker_user('w-gone')} removed" in out
    assert "w-b" not in out and "w-c" not in out, "another site's users are none of this site's business"


def test_a_worker_user_of_another_site_is_never_taken_over(admin_api: ManagementApi, two_sites: TwoSites) -> None:
    """Same prefix, same worker id: the user name is the same broker-wide; provisioning site A must
    not change the password site B's worker logs in with."""
    site_b = two_sites.b.write({"w-x": None})
    assert provision(site_b, admin_api) == 0
    b_worker = two_sites.worker_url(site_b, "w-x")

    with pytest.raises(ProvisionError, match=rf"{site_topology(site_b).worker_user('w-x')}.*{two_sites.b.vhost}"):
        provision(two_sites.a.write({"w-a": "configured-secret-a", "w-x": "configured-secret-x"}), admin_api)
    assert can_log_in(b_worker)
    assert two_sites.a.pipeline_user not in admin_api.users(), "nothing changes"


def test_a_user_with_permissions_on_another_vhost_is_left_and_reported(
        admin_api: ManagementApi, two_sites: TwoSites, capsys: pytest.CaptureFixture[str]) -> None:
    site_a = two_sites.a.write({"w-a": None, "w-shared": None})
    assert provision(site_a, admin_api) == 0
    shared = site_topology(site_a).worker_user("w-shared")
    admin_api.ensure_vhost(two_sites.b.vhost)
    admin_api.grant(two_sites.b.vhost, worker_grant(site_topology(site_a), "w-shared"))  # by hand, elsewhere too

    assert provision(two_sites.a.write({"w-a": None}), admin_api) == 0
    assert shared in admin_api.users()
    assert admin_api.user_vhosts()[shared] == {two_sites.b.vhost}, "no access left to site A"
    assert f"user {shared} left: it has permissions on vhost {two_sites.b.vhost} too" in capsys.readouterr().out


def test_a_worker_sees_other_queues_depth_in_its_vhost_and_nothing_of_another(
        admin_api: ManagementApi, two_sites: TwoSites) -> None:
    """What README says a worker can see: within its site's vhost, a passive declare of a queue
    whose name it knows tells that it exists, its depth and its consumers (no permission is needed
    for that in RabbitMQ); its messages it cannot read. Another vhost it cannot even open."""
    site_a = two_sites.a.write({"w-a": None, "w-b": None})
    site_b = two_sites.b.write({"w-c": None})
    assert provision(site_a, admin_api) == 0 and provision(site_b, admin_api) == 0
    topology = site_topology(site_a)
    pipeline = connect(site_a.broker_url() or "")
    worker_a = connect(two_sites.worker_url(site_a, "w-a"))
    try:
        channel = pipeline.channel()
        channel.confirm_delivery()
        publish(channel, topology.exchange, topology.worker_routing_key("w-b"))
        peek = worker_a.channel().queue_declare(topology.worker_queue("w-b"), passive=True).method
        assert (peek.message_count, peek.consumer_count) == (1, 0)
        with pytest.raises(pika.exceptions.ChannelClosedByBroker) as missing:
            worker_a.channel().queue_declare(topology.worker_queue("w-c"), passive=True)  # site B's queue
        assert missing.value.reply_code == 404, "site B's queues do not exist in site A's vhost"
    finally:
        pipeline.close()
        worker_a.close()
    with pytest.raises(pika.exceptions.ProbableAccessDeniedError):
        connect(url_as(site_b.broker_url() or "", topology.worker_user("w-a"),
                       read_passwords(site_a.file.parent / "workers.txt")[topology.worker_user("w-a")]))

"""`aibrain broker provision` against the real broker: both back ends write the computed grants,
a second run changes nothing, removed workers lose their user, and no password is ever shown."""

from __future__ import annotations

import logging
import os
import stat
import subprocess
import sys
from urllib.parse import quote, urlsplit

import pytest

from aibrain.broker_setup.broker_settings import site_topology, url_as
from aibrain.broker_setup.credentials_file import read_passwords
from aibrain.broker_setup.provision_command import ProvisionError, provision_site
from configs.load import Site
from routing.broker.admin import BrokerAdmin, BrokerAdminError
from routing.broker.grants import Permissions, TopicPermission, UserGrant, pipeline_grant, worker_grant
from routing.broker.management_api import ManagementApi
from tests.broker.conftest import ADMIN_URL, BrokerSite, can_log_in, rabbitmqctl


def granted(api: ManagementApi, vhost: str, user: str) -> UserGrant:
    """What the broker holds for `user`, as a grant, to compare with the computed one."""
    [permissions] = [p for p in api.request("GET", f"/api/users/{quote(user, safe='')}/permissions")
                     if p["vhost"] == vhost]
    topics = [t for t in api.request("GET", f"/api/users/{quote(user, safe='')}/topic-permissions")
              if t["vhost"] == vhost]
    return UserGrant(user, Permissions(permissions["configure"], permissions["write"], permissions["read"]),
                     TopicPermission(topics[0]["exchange"], topics[0]["write"], topics[0]["read"]) if topics else None)


def expected_grants(site: Site) -> list[UserGrant]:
    topology = site_topology(site)
    return [pipeline_grant(topology, f"{site.config.queue_prefix}-pipeline"),
            *(worker_grant(topology, worker.id) for worker in site.config.workers)]


@pytest.mark.parametrize("backend", ["management API", "rabbitmqctl"])
def test_both_backends_provision_the_same_grants_and_a_second_run_changes_nothing(
        backend: str, admin_api: ManagementApi, broker_site: BrokerSite, capsys: pytest.CaptureFixture[str]) -> None:
    admin: BrokerAdmin = admin_api if backend == "management API" else rabbitmqctl()
    site = broker_site.write({"w-a": None, "w-b": "configured-secret-b"})
    credentials = broker_site.folder / "workers.txt"
    broker_url = site.broker_url()
    assert broker_url is not None

    assert provision_site(site, admin, credentials) == 0
    first = credentials.read_text()
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
    assert provision_site(site, admin, credentials) == 0
    assert credentials.read_text() == first, "the generated password is kept"

    assert [granted(admin_api, "/", grant.user) for grant in expected_grants(site)] == expected_grants(site)
    topology = site_topology(site)
    user_a, user_b = topology.worker_user("w-a"), topology.worker_user("w-b")
    assert set(read_passwords(credentials)) == {user_a}, "configured passwords stay out of the file"
    assert can_log_in(url_as(broker_url, user_a, read_passwords(credentials)[user_a]))
    assert can_log_in(url_as(broker_url, user_b, "configured-secret-b"))
    assert can_log_in(broker_url)
    out = capsys.readouterr().out
    assert "(created)" in out and "(password set)" in out


def test_a_worker_taken_out_of_the_site_loses_their_user(admin_api: ManagementApi, broker_site: BrokerSite,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    credentials = broker_site.folder / "workers.txt"
    site = broker_site.write({"w-a": None, "w-b": None})
    assert provision_site(site, admin_api, credentials) == 0
    topology = site_topology(site)
    gone = url_as(site.broker_url() or "", topology.worker_user("w-b"),
                  read_passwords(credentials)[topology.worker_user("w-b")])
    assert can_log_in(gone)

    assert provision_site(broker_site.write({"w-a": None}), admin_api, credentials) == 0
    assert not can_log_in(gone)
    assert topology.worker_user("w-b") not in admin_api.users()
    assert set(read_passwords(credentials)) == {topology.worker_user("w-a")}
    assert f"user {topology.worker_user('w-b')} removed" in capsys.readouterr().out


def test_nothing_changes_when_a_new_worker_has_no_password(admin_api: ManagementApi, broker_site: BrokerSite) -> None:
    site = broker_site.write({"w-a": None})
    with pytest.raises(ProvisionError, match="w-a.*workers\\[\\].broker_password or give --credentials-out"):
        provision_site(site, admin_api, None)
    assert not [user for user in admin_api.users() if user.startswith(broker_site.prefix)]


def test_an_administrator_is_never_narrowed(admin_api: ManagementApi, broker_site: BrokerSite) -> None:
    """The site's broker user is an administrator: refused before anything changes."""
    site = broker_site.write({"w-a": "configured-secret-a"})
    admin_api.request("PUT", f"/api/users/{broker_site.pipeline_user}",
                      {"password": broker_site.pipeline_password, "tags": "administrator"})
    with pytest.raises(BrokerAdminError, match="is a RabbitMQ administrator"):
        provision_site(site, admin_api, None)
    assert admin_api.request("GET", f"/api/users/{broker_site.pipeline_user}/permissions") == []
    assert site_topology(site).worker_user("w-a") not in admin_api.users()


def test_no_password_reaches_output_or_logs(admin_api: ManagementApi, broker_site: BrokerSite,
                                            caplog: pytest.LogCaptureFixture,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    site = broker_site.write({"w-a": None, "w-b": "configured-secret-b"})
    credentials = broker_site.folder / "workers.txt"
    with caplog.at_level(logging.DEBUG):
        assert provision_site(site, admin_api, credentials) == 0
    secrets = [broker_site.pipeline_password, "configured-secret-b", *read_passwords(credentials).values()]
    captured = capsys.readouterr()
    shown = caplog.text + captured.out + captured.err
    assert broker_site.pipeline_user in shown
    assert not [secret for secret in secrets if secret in shown]


def test_the_command_shows_no_password_and_explains_failures(broker_site: BrokerSite, admin_api: ManagementApi) -> None:
    site = broker_site.write({"w-a": None, "w-b": "configured-secret-b"})
    credentials = broker_site.folder / "workers.txt"

    def aibrain(*args: str, admin_url: str = ADMIN_URL) -> subprocess.CompletedProcess[str]:
        env = os.environ | {"AIBRAIN_BROKER_ADMIN_URL": admin_url}
        return subprocess.run([sys.executable, "-m", "aibrain", "--log-level", "DEBUG", "broker", "provision",
                               "--config", str(site.file), *args], capture_output=True, text=True, env=env,
                              timeout=120)

    done = aibrain("--credentials-out", str(credentials))
    assert done.returncode == 0, done.stderr
    secrets = [broker_site.pipeline_password, "configured-secret-b", *read_passwords(credentials).values()]
    assert not [secret for secret in secrets if secret in done.stdout + done.stderr]
    assert f"topology declared as {broker_site.pipeline_user}" in done.stdout

    refused = aibrain(admin_url=url_as(ADMIN_URL, urlsplit(ADMIN_URL).username or "", "wrong-admin-pw"))
    assert refused.returncode == 1 and "HTTP 401" in refused.stderr
    assert "wrong-admin-pw" not in refused.stdout + refused.stderr
    unwritable = aibrain("--credentials-out", str(broker_site.folder / "no-such-folder" / "workers.txt"))
    assert unwritable.returncode == 1 and "--credentials-out" in unwritable.stderr
    assert "Traceback" not in unwritable.stderr
    unreachable = aibrain(admin_url="http://guest:wrong-admin-pw@127.0.0.1:1")
    assert unreachable.returncode == 1 and "rabbitmq-plugins enable rabbitmq_management" in unreachable.stderr
    assert "wrong-admin-pw" not in unreachable.stderr

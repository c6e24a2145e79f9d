"""`aibrain broker provision`: RabbitMQ users and permissions for a site, then its topology.

The pipeline's user (the one in the site's `broker` URL) may declare the topology, publish alerts
and dead letters and consume its feedback queue; each worker's user `<prefix>-worker-<id>` may
consume only their own queue and publish feedback only as themselves. Passwords are never printed.
"""

from __future__ import annotations

import argparse
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pika
import pika.exceptions

from aibrain.broker_setup.broker_settings import broker_tls, site_topology, url_as
from aibrain.broker_setup.credentials_file import read_passwords, write_urls
from aibrain.site_loading import load_or_exit
from common.redact import redact_url
from configs.load import Site
from routing.broker.admin import BrokerAdmin, BrokerAdminError
from routing.broker.connection import connection_failure, connection_parameters, tls_context
from routing.broker.grants import family, pipeline_grant, worker_grant
from routing.broker.management_api import ManagementApi
from routing.broker.provision import Account, MissingPassword, ProvisionReport, UsersOfOtherVhosts, provision
from routing.broker.rabbitmqctl import Rabbitmqctl
from routing.broker.topology import Topology, declare_topology

ADMIN_URL_VARIABLE = "AIBRAIN_BROKER_ADMIN_URL"  # keeps the broker admin's password off the command line


class ProvisionError(Exception):
    """Provisioning cannot go on; the message holds no credentials."""


@dataclass(frozen=True)
class WorkerPasswords:
    configured: dict[str, str]  # worker id -> workers[].broker_password
    in_file: dict[str, str]  # worker id -> password kept from, or generated for, the credentials file

    def get(self, worker_id: str) -> str | None:
        """None: no password known, the worker's existing user keeps its own."""
        return self.configured.get(worker_id) or self.in_file.get(worker_id)


def run(args: argparse.Namespace) -> int:
    site = load_or_exit(args.config)
    try:
        return provision_site(site, admin_backend(site, args), args.credentials_out)
    except (ProvisionError, BrokerAdminError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def admin_backend(site: Site, args: argparse.Namespace) -> BrokerAdmin:
    if args.rabbitmqctl:
        return Rabbitmqctl(args.rabbitmqctl)
    if not args.admin_url:
        raise ProvisionError(f"give --admin-url (or set {ADMIN_URL_VARIABLE}) or --rabbitmqctl")
    tls = broker_tls(site)  # a management API on https is likely signed by the broker's CA
    context = tls_context(tls) if tls is not None and args.admin_url.startswith("https://") else None
    return ManagementApi(args.admin_url, context=context)


def provision_site(site: Site, admin: BrokerAdmin, credentials_out: Path | None) -> int:
    broker_url = site.broker_url()
    if broker_url is None:
        raise ProvisionError(f"{site.file}: the site names no broker")
    parts = urlsplit(broker_url)
    if not parts.username or parts.password is None:
        raise ProvisionError(f"{site.file}: broker: the URL must name the pipeline's user and password")
    pipeline_user = unquote(parts.username)
    topology = site_topology(site)
    try:
        passwords = worker_passwords(site, topology, credentials_out)
        if credentials_out is not None:  # before the broker changes, so no password exists only there
            write_urls(credentials_out, [url_as(broker_url, topology.worker_user(worker_id), password)
                                         for worker_id, password in passwords.in_file.items()])
    except OSError as exc:
        raise ProvisionError(f"--credentials-out {credentials_out}: {exc.strerror or exc}") from None

    accounts = [Account(pipeline_grant(topology, pipeline_user), unquote(parts.password))]
    accounts += [Account(worker_grant(topology, w.id), passwords.get(w.id)) for w in site.config.workers]
    try:
        report = provision(admin, pika.URLParameters(broker_url).virtual_host, accounts,
                           remove_prefix=family(topology.worker_user))
    except MissingPassword as exc:
        raise ProvisionError(f"{exc}: set workers[].broker_password or give --credentials-out FILE "
                             "to generate passwords") from None
    except UsersOfOtherVhosts as exc:
        raise ProvisionError(f"{site.file}: {exc}. User names are broker-wide: give each site its own "
                             "queue_prefix (and pipeline user), or remove those users' other permissions") from None
    declare_as_pipeline(site, broker_url, topology)
    print_report(site, topology, pipeline_user, report, passwords, credentials_out)
    return 0


def worker_passwords(site: Site, topology: Topology, credentials_out: Path | None) -> WorkerPasswords:
    """The configured password; else, given a credentials file, the one in it or a new one."""
    configured = {w.id: w.broker_password.get_secret_value() for w in site.config.workers if w.broker_password}
    in_file: dict[str, str] = {}
    if credentials_out is not None:
        known = read_passwords(credentials_out)
        in_file = {w.id: known.get(topology.worker_user(w.id)) or secrets.token_urlsafe(24)
                   for w in site.config.workers if w.id not in configured}
    return WorkerPasswords(configured, in_file)


def declare_as_pipeline(site: Site, broker_url: str, topology: Topology) -> None:
    """Declare the topology as the pipeline's user: proves its permissions cover what it does."""
    try:
        connection = pika.BlockingConnection(connection_parameters(broker_url, tls=broker_tls(site)))
        try:
            declare_topology(connection.channel(), topology)
        finally:
            if connection.is_open:
                connection.close()
    except (pika.exceptions.AMQPError, OSError) as exc:
        raise ProvisionError(f"cannot declare the topology at {redact_url(broker_url)}: "
                             f"{redact_url(connection_failure(exc))}") from None


def print_report(site: Site, topology: Topology, pipeline_user: str, report: ProvisionReport,
                 passwords: WorkerPasswords, credentials_out: Path | None) -> None:
    def state(user: str) -> str:
        if user in report.created:
            return "created"
        return "password set" if user in report.password_set else "password kept"

    print(f"broker {redact_url(site.broker_url() or '')}, prefix {topology.prefix}")
    print(f"  pipeline: user {pipeline_user} ({state(pipeline_user)}): declares the topology, publishes to "
          f"{topology.exchange} and {topology.dead_letter_exchange}, consumes {topology.feedback_queue}")
    for worker in site.config.workers:
        user = topology.worker_user(worker.id)
        print(f"  worker {worker.id}: user {user} ({state(user)}): consumes {topology.worker_queue(worker.id)}, "
              f"publishes to {topology.feedback_exchange} with key {topology.worker_routing_key(worker.id)}")
    for user in report.removed:
        print(f"  user {user} removed: no longer a worker of the site")
    for user, vhosts in report.left.items():
        print(f"  user {user} left: it has permissions on vhost {', '.join(vhosts)} too (another site's?); "
              "only its permissions on this site's vhost removed")
    print(f"topology declared as {pipeline_user}")
    if credentials_out is not None:
        print(f"credentials of {len(passwords.in_file)} worker(s) written to {credentials_out} (mode 0600)")

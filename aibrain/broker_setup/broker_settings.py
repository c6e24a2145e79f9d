"""The site's broker settings as the stages take them: the topology, TLS files, and URLs for other users.

Kept apart from `aibrain.assemble` (which pulls in the detector) so broker-only commands start fast."""

from __future__ import annotations

from urllib.parse import quote, urlsplit, urlunsplit

from configs.load import Site
from routing.broker.connection import TlsFiles
from routing.broker.topology import Topology
from routing.incidents.escalation import EscalationChains


def broker_tls(site: Site) -> TlsFiles | None:
    """`broker_tls` with its paths resolved against the site file's folder; pass it to
    `routing.broker.connection.connection_parameters` with the site's broker URL."""
    tls = site.config.broker_tls
    if tls is None:
        return None
    return TlsFiles(*(site.path(path) if path is not None else None
                      for path in (tls.ca_file, tls.cert_file, tls.key_file)))


def url_as(broker_url: str, user: str, password: str) -> str:
    """The broker URL with another user's credentials (same scheme, host, port, vhost and options).

    >>> url_as("amqps://aibrain:x@mq:5671/%2F", "aibrain-worker-w1", "p@ss")
    'amqps://aibrain-worker-w1:p%40ss@mq:5671/%2F'
    """
    parts = urlsplit(broker_url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{quote(user, safe='')}:{quote(password, safe='')}@{host}"))


def escalation_chains(site: Site) -> EscalationChains:
    escalation = site.config.escalation
    return EscalationChains({grid: tuple(chain) for grid, chain in escalation.grids.items()},
                            default=tuple(escalation.default))


def site_topology(site: Site) -> Topology:
    prefix = site.config.queue_prefix
    return Topology(prefix=prefix, worker_ids=tuple(w.id for w in site.config.workers),
                    fallback_queue_name=f"{prefix}.{site.config.fallback_queue}",
                    escalation_targets=escalation_chains(site).targets())

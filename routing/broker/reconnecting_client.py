"""The base of every long-running RabbitMQ role (outbox relay, feedback consumer): one pika
connection on its own thread, reconnected with capped backoff, prompt to stop."""

from __future__ import annotations

import logging
import threading
from abc import abstractmethod

import pika
import pika.exceptions
from pika.adapters.blocking_connection import BlockingConnection
from sqlalchemy.exc import SQLAlchemyError

from common.backoff import Backoff
from common.redact import describe, redact_url
from common.role import ThreadRole
from routing.broker.connection import TlsFiles, connection_failure, connection_parameters

log = logging.getLogger(__name__)

# Errors that mean "try again later": broker gone or refusing, socket trouble, database away.
TRANSIENT_ERRORS = (pika.exceptions.AMQPError, OSError, SQLAlchemyError)


class BrokerClient(ThreadRole):
    """Connect, `serve` the connection until stopped, and on trouble back off and reconnect.

    pika connections are not thread-safe, so each role owns one, used only on its own thread.
    The backoff resets once a connection works again. Every blocking call has a timeout, so
    `stop.set()` ends the thread promptly (a connect in progress may take up to its timeout).
    """

    role = "broker client"

    def __init__(self, amqp_url: str, stop: threading.Event, *, tls: TlsFiles | None = None,
                 backoff_initial_s: float = 1.0, backoff_max_s: float = 30.0, connect_timeout_s: float = 5.0,
                 heartbeat_s: int = 30, database_backoff_max_s: float = 30.0) -> None:
        self._url = amqp_url
        self._tls = tls
        self._safe_url = redact_url(amqp_url)
        self._stop = stop
        self._backoff = Backoff(initial=backoff_initial_s, maximum=backoff_max_s)
        self._connect_timeout_s = connect_timeout_s
        self._heartbeat_s = heartbeat_s
        self._connection: BlockingConnection | None = None
        self._db_backoff = Backoff(initial=1.0, maximum=database_backoff_max_s)

    def _wait_for_database(self, connection: BlockingConnection, exc: SQLAlchemyError, what: str) -> None:
        """The database is away: say so for `what`, then wait out the next backoff step. The broker
        connection is kept (its heartbeats go on, unlike in time.sleep): a database outage costs no
        reconnects. `_db_backoff.reset()` once the database answers again."""
        delay = self._db_backoff.next_delay()
        log.warning("%s: database unavailable (%s); retrying in %.1f s", what, describe(exc), delay)
        connection.sleep(delay)

    @abstractmethod
    def serve(self, connection: BlockingConnection) -> None:
        """Work on the open connection until `stop` is set; raise a transient error to reconnect."""

    def run(self) -> None:
        while not self._stop.is_set():
            try:
                params = connection_parameters(self._url, tls=self._tls, timeout_s=self._connect_timeout_s,
                                               heartbeat_s=self._heartbeat_s)
                self._connection = pika.BlockingConnection(params)
                log.info("%s connected to %s", self.role, self._safe_url)
                self._backoff.reset()
                self.serve(self._connection)
            except TRANSIENT_ERRORS as exc:
                delay = self._backoff.next_delay()
                what = "database" if isinstance(exc, SQLAlchemyError) else f"broker {self._safe_url}"
                log.warning("%s: %s unavailable (%s); retrying in %.1f s", self.role, what,
                            redact_url(connection_failure(exc)), delay)
                self._close()
                self._stop.wait(delay)
            except BaseException:  # a crash: the broker frees this connection's unacked deliveries at once
                self._close()
                raise
            finally:
                if self._stop.is_set():
                    self._close()
        self._close()
        log.info("%s stopped", self.role)

    def _close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None and connection.is_open:
            try:
                connection.close()
            except TRANSIENT_ERRORS as exc:  # already broken: nothing more to release
                log.debug("%s: closing a broken connection: %s", self.role, describe(exc))

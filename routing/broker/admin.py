"""RabbitMQ user administration behind one interface, with two back ends: the management HTTP
API (`admin_http.ManagementApi`, remote) and `rabbitmqctl` (`admin_ctl.Rabbitmqctl`, on the broker's host).

Passwords go in request bodies or on stdin, never on a command line or into an error message.
"""

from __future__ import annotations

from typing import Protocol

from routing.broker.grants import UserGrant


class BrokerAdminError(Exception):
    """An administration call failed; the message says which, and never holds a password."""


class BrokerAdmin(Protocol):
    def users(self) -> dict[str, tuple[str, ...]]:
        """Every user's name and tags (e.g. `administrator`)."""
        ...

    def user_vhosts(self) -> dict[str, frozenset[str]]:
        """Every user with permissions somewhere, and the virtual hosts it has them on."""
        ...

    def ensure_vhost(self, vhost: str) -> None: ...

    def add_user(self, user: str, password: str) -> None:
        """A new user without tags or permissions."""
        ...

    def change_password(self, user: str, password: str) -> None:
        """A new password for an existing user; its tags stay."""
        ...

    def delete_user(self, user: str) -> None: ...

    def grant(self, vhost: str, grant: UserGrant) -> None:
        """Set the user's permissions (and topic permission, if any) on `vhost`, replacing earlier ones."""
        ...

    def revoke(self, vhost: str, user: str) -> None:
        """Clear the user's permissions and topic permissions on `vhost`; those elsewhere stay."""
        ...

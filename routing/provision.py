"""Bring a broker's users in line with a topology: create or update each account, set its
permissions, remove the worker users no longer in the site. Safe to repeat."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from routing.broker_access import UserGrant
from routing.broker_admin import BrokerAdmin, BrokerAdminError


class MissingPassword(BrokerAdminError):
    """New users were given no password."""

    def __init__(self, users: list[str]):
        super().__init__(f"no password for the new user(s) {', '.join(users)}")
        self.users = users


@dataclass(frozen=True, slots=True)
class Account:
    grant: UserGrant
    password: str | None = field(repr=False)  # None: keep the user's current password (it must exist)


@dataclass
class ProvisionReport:
    created: list[str] = field(default_factory=list)
    password_set: list[str] = field(default_factory=list)  # existing users given their configured password
    removed: list[str] = field(default_factory=list)


def provision(admin: BrokerAdmin, vhost: str, accounts: Sequence[Account], *,
              remove_prefix: str | None = None) -> ProvisionReport:
    """Create or update every account on `vhost`; delete other users whose name starts with
    `remove_prefix` (workers taken out of the site must lose their access).

    Nothing changes unless every account can be provisioned: a new user needs a password, and an
    administrator's permissions are never narrowed (that would lock out whoever administers the
    broker with it): the pipeline needs a user of its own.
    """
    existing = admin.users()
    no_password = [a.grant.user for a in accounts if a.password is None and a.grant.user not in existing]
    if no_password:
        raise MissingPassword(no_password)
    admins = [a.grant.user for a in accounts if "administrator" in existing.get(a.grant.user, ())]
    if admins:
        raise BrokerAdminError(f"{', '.join(admins)} is a RabbitMQ administrator; narrowing its permissions "
                               "would lock out whoever administers the broker with it: give the site a user of its own")

    admin.ensure_vhost(vhost)
    report = ProvisionReport()
    for account in accounts:
        user = account.grant.user
        if account.password is None:
            pass  # an existing user (checked above) keeps its password
        elif user in existing:
            admin.change_password(user, account.password)
            report.password_set.append(user)
        else:
            admin.add_user(user, account.password)
            report.created.append(user)
        admin.grant(vhost, account.grant)
    wanted = {account.grant.user for account in accounts}
    for user in sorted(existing):
        if remove_prefix and user.startswith(remove_prefix) and user not in wanted:
            admin.delete_user(user)
            report.removed.append(user)
    return report

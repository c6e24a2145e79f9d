"""Bring a broker's users in line with a topology: create or update each account, set its
permissions, remove the worker users no longer in the site. Safe to repeat.

User names are broker-wide, virtual hosts are not: two sites in their own vhosts under the same
queue prefix name their workers alike, so a user is this site's only when its permissions are on
this site's vhost alone. Another site's users are never changed nor removed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from routing.broker.admin import BrokerAdmin, BrokerAdminError
from routing.broker.grants import UserGrant


class MissingPassword(BrokerAdminError):
    """New users were given no password."""

    def __init__(self, users: list[str]):
        super().__init__(f"no password for the new user(s) {', '.join(users)}")
        self.users = users


class UsersOfOtherVhosts(BrokerAdminError):
    """Accounts to provision whose users hold permissions on other virtual hosts (other sites)."""

    def __init__(self, users: dict[str, list[str]]):
        listed = "; ".join(f"{user} on {', '.join(vhosts)}" for user, vhosts in users.items())
        super().__init__(f"user(s) with permissions on another vhost, so another site's: {listed}")
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
    # users no longer wanted here but with permissions on other vhosts too: kept, this vhost's revoked
    left: dict[str, list[str]] = field(default_factory=dict)  # user -> its other vhosts


def provision(admin: BrokerAdmin, vhost: str, accounts: Sequence[Account], *,
              remove_prefix: str | None = None) -> ProvisionReport:
    """Create or update every account on `vhost`; remove this vhost's other users whose name starts
    with `remove_prefix` (workers taken out of the site must lose their access).

    A user is removed only when its permissions are on `vhost` alone; one with permissions on
    other vhosts too is kept, loses those on `vhost`, and is reported in `left`. Users without
    permissions on `vhost` are another site's (or no one's) and are not touched.

    Nothing changes unless every account can be provisioned: a new user needs a password, a user
    with permissions on another vhost belongs to another site and is never taken over, and an
    administrator's permissions are never narrowed (that would lock out whoever administers the
    broker with it): the pipeline needs a user of its own.
    """
    existing = admin.users()
    vhosts_of = admin.user_vhosts()
    others = {a.grant.user: vhosts_of.get(a.grant.user, frozenset()) - {vhost} for a in accounts}
    elsewhere = {user: sorted(vhosts) for user, vhosts in others.items() if vhosts}
    if elsewhere:
        raise UsersOfOtherVhosts(elsewhere)
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
        on = vhosts_of.get(user, frozenset())
        if not remove_prefix or not user.startswith(remove_prefix) or user in wanted or vhost not in on:
            continue
        if on == {vhost}:
            admin.delete_user(user)
            report.removed.append(user)
        else:
            admin.revoke(vhost, user)
            report.left[user] = sorted(on - {vhost})
    return report

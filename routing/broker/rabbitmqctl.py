"""RabbitMQ administration with `rabbitmqctl` on the broker's host (needs its Erlang cookie,
usually root or the rabbitmq user). Passwords go on stdin, never on the command line."""

from __future__ import annotations

import json
import shutil
import subprocess

from routing.broker.admin import BrokerAdminError
from routing.broker.grants import UserGrant


class Rabbitmqctl:
    """Users and permissions through a local `rabbitmqctl` (each call starts an Erlang VM: ~1-2 s).

    >>> Rabbitmqctl().users()  # doctest: +SKIP
    {'guest': ('administrator',)}
    """

    def __init__(self, executable: str = "rabbitmqctl", *, timeout_s: float = 60.0) -> None:
        found = shutil.which(executable)
        if found is None:
            raise BrokerAdminError(f"{executable} not found: run on the broker's host, or use the management API")
        self._executable = found
        self._timeout_s = timeout_s

    def _run(self, *args: str, password: str | None = None) -> str:
        try:
            done = subprocess.run([self._executable, "-q", *args], input=password, capture_output=True, text=True,
                                  timeout=self._timeout_s, check=False)
        except subprocess.TimeoutExpired:
            raise BrokerAdminError(f"rabbitmqctl {args[0]} took longer than {self._timeout_s:g} s") from None
        if done.returncode != 0:
            lines = (done.stderr or done.stdout).strip().splitlines()
            detail = lines[-1] if lines else "no output"
            if password:
                detail = detail.replace(password, "***")
            raise BrokerAdminError(f"rabbitmqctl {args[0]} failed (exit {done.returncode}): {detail}")
        return done.stdout

    def users(self) -> dict[str, tuple[str, ...]]:
        listed = json.loads(self._run("list_users", "--formatter", "json"))
        return {user["user"]: tuple(user["tags"]) for user in listed}

    def _vhosts(self) -> list[str]:
        return [entry["name"] for entry in json.loads(self._run("list_vhosts", "name", "--formatter", "json"))]

    def user_vhosts(self) -> dict[str, frozenset[str]]:
        vhosts: dict[str, set[str]] = {}
        for vhost in self._vhosts():
            for entry in json.loads(self._run("list_permissions", "-p", vhost, "--formatter", "json")):
                vhosts.setdefault(entry["user"], set()).add(vhost)
        return {user: frozenset(names) for user, names in vhosts.items()}

    def ensure_vhost(self, vhost: str) -> None:
        if vhost not in self._vhosts():
            self._run("add_vhost", vhost)

    def add_user(self, user: str, password: str) -> None:
        self._run("add_user", user, password=password)

    def change_password(self, user: str, password: str) -> None:
        self._run("change_password", user, password=password)

    def delete_user(self, user: str) -> None:
        self._run("delete_user", user)

    def grant(self, vhost: str, grant: UserGrant) -> None:
        permissions = grant.permissions
        self._run("set_permissions", "-p", vhost, grant.user, permissions.configure, permissions.write,
                  permissions.read)
        if grant.topic is not None:
            self._run("set_topic_permissions", "-p", vhost, grant.user, grant.topic.exchange, grant.topic.write,
                      grant.topic.read)

    def revoke(self, vhost: str, user: str) -> None:
        self._run("clear_topic_permissions", "-p", vhost, user)
        self._run("clear_permissions", "-p", vhost, user)

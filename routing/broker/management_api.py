"""RabbitMQ administration through the management plugin's HTTP API (`rabbitmq_management`)."""

from __future__ import annotations

import base64
import json
import ssl
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from routing.broker.admin import BrokerAdminError
from routing.broker.grants import UserGrant


def _segment(name: str) -> str:
    return quote(name, safe="")


class ManagementApi:
    """Users and permissions through `http(s)://admin:password@host:15672`.

    >>> api = ManagementApi("http://admin:secret@mq-host:15672")  # doctest: +SKIP
    >>> api.users()  # doctest: +SKIP
    {'admin': ('administrator',), 'aibrain': ()}
    """

    def __init__(self, url: str, *, context: ssl.SSLContext | None = None, timeout_s: float = 15.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.username is None:
            raise BrokerAdminError("the admin URL must look like http(s)://user:password@host:15672")
        host = parts.netloc.rpartition("@")[2]
        self.base_url = urlunsplit((parts.scheme, host, parts.path.rstrip("/"), "", ""))  # no credentials
        token = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
        self._authorization = "Basic " + base64.b64encode(token).decode("ascii")
        self._context = context
        self._timeout_s = timeout_s

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """Call the API (`path` like `/api/users`); the decoded JSON answer, or None if empty."""
        request = urllib.request.Request(
            self.base_url + path, method=method, data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": self._authorization, "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self._timeout_s, context=self._context) as answer:
                text = answer.read()
        except urllib.error.HTTPError as exc:
            raise BrokerAdminError(f"{method} {path}: HTTP {exc.code} {_reason(exc)}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise BrokerAdminError(f"cannot reach the RabbitMQ management API at {self.base_url}: {reason} "
                                   "(is the plugin on? rabbitmq-plugins enable rabbitmq_management)") from None
        return json.loads(text) if text else None

    def users(self) -> dict[str, tuple[str, ...]]:
        return {user["name"]: tuple(_tags(user["tags"])) for user in self.request("GET", "/api/users")}

    def user_vhosts(self) -> dict[str, frozenset[str]]:
        vhosts: dict[str, set[str]] = {}
        for entry in self.request("GET", "/api/permissions"):
            vhosts.setdefault(entry["user"], set()).add(entry["vhost"])
        return {user: frozenset(names) for user, names in vhosts.items()}

    def ensure_vhost(self, vhost: str) -> None:
        if vhost not in {entry["name"] for entry in self.request("GET", "/api/vhosts")}:
            self.request("PUT", f"/api/vhosts/{_segment(vhost)}")

    def add_user(self, user: str, password: str) -> None:
        self.request("PUT", f"/api/users/{_segment(user)}", {"password": password, "tags": ""})

    def change_password(self, user: str, password: str) -> None:
        # A PUT replaces the whole user: send its tags back, or they would be dropped.
        tags = _tags(self.request("GET", f"/api/users/{_segment(user)}")["tags"])
        self.request("PUT", f"/api/users/{_segment(user)}", {"password": password, "tags": ",".join(tags)})

    def delete_user(self, user: str) -> None:
        self.request("DELETE", f"/api/users/{_segment(user)}")

    def grant(self, vhost: str, grant: UserGrant) -> None:
        where = f"{_segment(vhost)}/{_segment(grant.user)}"
        permissions = grant.permissions
        self.request("PUT", f"/api/permissions/{where}",
                     {"configure": permissions.configure, "write": permissions.write, "read": permissions.read})
        if grant.topic is not None:
            self.request("PUT", f"/api/topic-permissions/{where}",
                         {"exchange": grant.topic.exchange, "write": grant.topic.write, "read": grant.topic.read})

    def revoke(self, vhost: str, user: str) -> None:
        where = f"{_segment(vhost)}/{_segment(user)}"
        topics = self.request("GET", f"/api/users/{_segment(user)}/topic-permissions")
        if any(entry["vhost"] == vhost for entry in topics):  # a DELETE of none answers 404
            self.request("DELETE", f"/api/topic-permissions/{where}")
        self.request("DELETE", f"/api/permissions/{where}")



def _tags(value: str | list[str]) -> list[str]:
    """Tags come as a list (3.10+) or a comma-separated string (older brokers)."""
    return [tag for tag in (value.split(",") if isinstance(value, str) else value) if tag]


def _reason(exc: urllib.error.HTTPError) -> str:
    try:
        detail = json.loads(exc.read() or b"{}")
    except ValueError:
        return str(exc.reason)
    return str(detail.get("reason") or detail.get("error") or exc.reason)

"""`aibrain users add|passwd|disable|list --config F`: the workbench's accounts from the command line.
Every change is audited as "cli:<os user>"; a refused field is one line naming it, and exit 2."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session, sessionmaker

from aibrain.database_unavailable import exit_if_unavailable
from configs.load import Site
from routing.access.accounts import (
    AccountError,
    add_user,
    check_new_user,
    disable_user,
    find_user,
    list_users,
    set_password,
)
from routing.access.audit import AuditAction, record
from routing.access.passwords import generate_password
from routing.access.roles import Role, scope_level
from routing.assign.organisation import Level
from routing.incidents.database import make_engine, session_factory
from routing.incidents.migrate import upgrade_to_head

EXIT_REFUSED = 2
# How a refused field is named on this command line.
OPTIONS = {"role": "--role", "scope": "--scope", "worker_id": "--worker",
           "display_name": "--name"}
PLURALS = {Level.STREET: "streets", Level.COMMUNITY: "communities", Level.GRID: "grids"}
SHOWN_PLACES = 12
PIPED_WIDTH = 1000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="users_command", required=True)
    add = _verb(actions, "add", "add a user who signs in to the workbench")
    add.add_argument("username", help="1 to 64 letters, digits and _ . @ -")
    add.add_argument("--role", required=True, choices=[role.value for role in Role],
                     help="worker (their own incidents), leader (a grid or community), centre (a street or the "
                          "district), admin (users, cameras, zones)")
    add.add_argument("--scope", required=True, metavar="KEY",
                     help="the part of the organisation they see: district, street:<street>, "
                          "community:<street>/<community> or grid:<grid id>")
    add.add_argument("--worker", metavar="ID", help="a worker user's worker id, as in the site file")
    add.add_argument("--name", help="the name shown in the workbench (default: the username)")
    _password_source(add)
    passwd = _verb(actions, "passwd", "set a user's password; signs them out everywhere")
    passwd.add_argument("username")
    _password_source(passwd)
    disable = _verb(actions, "disable", "stop a user from signing in; signs them out everywhere")
    disable.add_argument("username")
    _verb(actions, "list", "the users: role, scope, worker, disabled, last sign-in (never a password hash)")


def _verb(actions: argparse._SubParsersAction, name: str, help_text: str) -> argparse.ArgumentParser:
    verb = actions.add_parser(name, help=help_text, description=help_text)
    verb.add_argument("--config", type=Path, required=True, help="the site file (its database holds the users)")
    return verb


def _password_source(verb: argparse.ArgumentParser) -> None:
    source = verb.add_mutually_exclusive_group()
    source.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    source.add_argument("--generate-password", action="store_true",
                        help="generate a random password and print it once (default: type it twice)")


def run(args: argparse.Namespace, site: Site) -> int:
    url = site.database_url()
    with exit_if_unavailable(url):
        upgrade_to_head(url)
        engine = make_engine(url)
        try:
            return COMMANDS[args.users_command](args, site, session_factory(engine))
        except AccountError as exc:
            print(f"error: {_wording(exc)}", file=sys.stderr)
            return EXIT_REFUSED
        finally:
            engine.dispose()


def _wording(exc: AccountError) -> str:
    """e.g. "--scope street:外滩街: no such street in grids.geojson (streets: 外滩街道)"."""
    field = OPTIONS.get(exc.field, exc.field)
    return f"{field} {exc.value}: {exc.reason}" if exc.value is not None else f"{field}: {exc.reason}"


def cmd_add(args: argparse.Namespace, site: Site, sessions: sessionmaker[Session]) -> int:
    # Every field but the password is checked before the password is asked for.
    with sessions() as session:
        check_new_user(session, args.username, args.role, args.scope, args.worker, args.name)
    check_on_site(site, args.scope, args.worker)
    password = _new_password(args)
    at = datetime.now(UTC)
    with sessions() as session, session.begin():
        user = add_user(session, args.username, password, args.role, args.scope, at, worker_id=args.worker,
                        display_name=args.name)
        acting = f", worker {user.worker_id}" if user.worker_id else ""
        record(session, at, cli_actor(), AuditAction.USER_ADDED, f"user:{user.username}",
               detail=f"role {user.role.value}, scope {user.scope}{acting}")
    place = site.organisation().node(user.scope).label
    print(f"added {user.role.value} {user.username} ({user.display_name}), scope {user.scope} ({place}){acting}")
    _show_generated(args, user.username, password)
    return 0


def cmd_passwd(args: argparse.Namespace, site: Site, sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        find_user(session, args.username)  # before the password is asked for
    password = _new_password(args)
    at = datetime.now(UTC)
    with sessions() as session, session.begin():
        set_password(session, args.username, password, at)
        record(session, at, cli_actor(), AuditAction.PASSWORD_CHANGED, f"user:{args.username}")
    print(f"password of {args.username} changed; their web sessions have ended")
    _show_generated(args, args.username, password)
    return 0


def cmd_disable(args: argparse.Namespace, site: Site, sessions: sessionmaker[Session]) -> int:
    at = datetime.now(UTC)
    with sessions() as session, session.begin():
        disable_user(session, args.username, at)
        record(session, at, cli_actor(), AuditAction.USER_DISABLED, f"user:{args.username}")
    print(f"{args.username} is disabled and signed out everywhere")
    return 0


def cmd_list(args: argparse.Namespace, site: Site, sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        users = list_users(session)
    if not users:
        print(f"no users yet; add one with `aibrain users add USERNAME --role admin --scope district "
              f"--config {args.config}`")
        return 0
    table = Table(title=f"users ({len(users)})")
    for column in ("username", "name", "role", "scope", "worker", "disabled", "last login"):
        table.add_column(column)
    for user in users:
        table.add_row(user.username, user.display_name, user.role.value, user.scope, user.worker_id or "-",
                      _local(user.disabled_at, site) if user.disabled_at else "no", _local(user.last_login_at, site))
    # No markup or emoji codes: names are data ("[/]" in one would end a style never opened). Piped, a
    # user stays on one line for grep, however narrow rich guesses the terminal.
    width = None if sys.stdout.isatty() else PIPED_WIDTH
    Console(highlight=False, markup=False, emoji=False, width=width).print(table)
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace, Site, sessionmaker[Session]], int]] = {
    "add": cmd_add, "passwd": cmd_passwd, "disable": cmd_disable, "list": cmd_list,
}


def check_on_site(site: Site, scope: str, worker_id: str | None) -> None:
    """The scope names a place in the site's grids file, and the worker is one of the site's workers."""
    organisation = site.organisation()
    try:
        organisation.node(scope)
    except ValueError:
        level = scope_level(scope) or Level.DISTRICT  # check_new_user has refused keys of no level
        names = [node.key.partition(":")[2] for node in organisation.nodes() if node.level is level]
        raise AccountError("scope", f"no such {level} in {site.config.grids} ({PLURALS[level]}: {_some(names)})",
                           value=scope) from None
    workers = [worker.id for worker in site.config.workers]
    if worker_id is not None and worker_id not in workers:
        raise AccountError("worker_id", f"no such worker in {site.file.name} (workers: {_some(workers)})",
                           value=worker_id)


def _some(names: list[str]) -> str:
    shown = ", ".join(names[:SHOWN_PLACES]) or "none"
    return shown + (f" and {len(names) - SHOWN_PLACES} more" if len(names) > SHOWN_PLACES else "")


def _new_password(args: argparse.Namespace) -> str:
    if args.generate_password:
        return generate_password()
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass(f"password for {args.username}: ")
    if getpass.getpass("the same again: ") != first:
        raise AccountError("password", "the two entries differ")
    return first


def _show_generated(args: argparse.Namespace, username: str, password: str) -> None:
    if args.generate_password:
        print(f"password for {username}: {password}  (shown this once; it is stored only as a hash)")


def cli_actor() -> str:
    """How the audit log names a command-line change: "cli:<os user>"."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):  # no login name in the environment and none for the uid
        name = f"uid {os.getuid()}"
    return f"cli:{name}"


def _local(at: datetime | None, site: Site) -> str:
    return at.astimezone(site.config.tz).strftime("%Y-%m-%d %H:%M") if at else "-"

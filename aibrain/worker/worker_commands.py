"""`aibrain worker --id W --config F [inbox | accept ID | resolve ID --note ...]`: a grid worker's
client, scriptable one command at a time or interactive (no command)."""

from __future__ import annotations

import argparse
import os
import shlex
from datetime import datetime
from pathlib import Path

import pika.exceptions
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from aibrain.broker_setup.broker_settings import broker_tls, site_topology, url_as
from aibrain.worker.arguments import BROKER_ENV
from aibrain.worker.client import WorkerClient
from aibrain.worker.inbox import InboxError, WorkerInbox
from common.redact import redact_url
from configs.load import Site
from routing.broker.connection import connection_failure
from routing.incidents.tables import IncidentStatus
from routing.messages.feedback import FeedbackAction, problems

HELP = ("commands: inbox | accept N [note] | resolve N note | quit   "
        "(N: the number in the list, or an incident id or its first characters)")


def default_inbox(site: Site, worker_id: str) -> Path:
    state = Path(os.environ.get("XDG_STATE_HOME", "~/.local/state")).expanduser()
    return state / "aibrain" / f"{site.config.queue_prefix}-{worker_id}.json"


def run(args: argparse.Namespace, site: Site) -> int:
    # No markup or emoji codes: names, notes and ids are data ("东门 [/]" would end a style that was
    # never opened and crash every listing); colour comes from `style=` only.
    console = Console(highlight=False, markup=False, emoji=False)
    worker = next((w for w in site.config.workers if w.id == args.worker_id), None)
    if worker is None:
        console.print(f"error: {site.file}: workers: no worker {args.worker_id!r}", style="red")
        return 2
    topology = site_topology(site)
    url = args.broker or os.environ.get(BROKER_ENV) or site.broker_url()
    if not url:
        console.print(f"error: {site.file}: broker: not set; give --broker or ${BROKER_ENV}", style="red")
        return 2
    if not (args.broker or os.environ.get(BROKER_ENV)) and worker.broker_password is not None:
        url = url_as(url, topology.worker_user(worker.id), worker.broker_password.get_secret_value())
    client = WorkerClient(url, topology, worker.id, tls=broker_tls(site))
    try:
        inbox = WorkerInbox.load(args.inbox or default_inbox(site, args.worker_id))
        if args.worker_command is None:
            return interactive(client, inbox, site, console)
        return one_command(args.worker_command, args, client, inbox, site, console)
    except InboxError as exc:
        console.print(f"error: {redact_url(str(exc))}", style="red")
        return 2
    except (pika.exceptions.AMQPError, OSError) as exc:
        console.print(f"error: broker {redact_url(url)} unavailable: {redact_url(connection_failure(exc))}",
                      style="red")
        return 1


def one_command(command: str, args: argparse.Namespace, client: WorkerClient, inbox: WorkerInbox, site: Site,
                console: Console) -> int:
    client.sync(inbox)
    if command == "inbox":
        show(inbox, site, console)
        return 0
    send(client, inbox, FeedbackAction(command), args.incident, args.note, console)
    return 0


def send(client: WorkerClient, inbox: WorkerInbox, action: FeedbackAction, key: str, note: str | None,
         console: Console) -> None:
    incident_id = inbox.find(key)
    try:
        message_id = client.send(incident_id, action, note)
    except ValidationError as exc:  # a note too long or holding control characters
        raise InboxError(f"cannot send {action.value}: {problems(exc)}") from None
    entry = inbox.entries.get(incident_id)
    if entry is not None:
        entry.sent = action
        inbox.save()
    console.print(f"{action.value} sent for incident {incident_id} (message {message_id})")


def interactive(client: WorkerClient, inbox: WorkerInbox, site: Site, console: Console) -> int:
    console.print(HELP)
    client.sync(inbox)
    show(inbox, site, console)
    while True:
        try:
            line = input("> ").strip()
        except EOFError:
            return 0
        try:
            words = shlex.split(line) if line else ["inbox"]
        except ValueError as exc:  # an unbalanced quote
            console.print(f"cannot read that line: {exc}; close the quote or leave it out", style="yellow")
            continue
        command, rest = words[0].lower(), words[1:]
        try:
            if command in ("quit", "exit", "q"):
                return 0
            if command in ("inbox", "refresh", "r"):
                client.sync(inbox)
                show(inbox, site, console)
            elif command in ("accept", "resolve") and rest:
                note = " ".join(rest[1:]) or None
                if command == "resolve" and note is None:
                    console.print("resolve needs a note: resolve N what was done", style="yellow")
                    continue
                send(client, inbox, FeedbackAction(command), rest[0], note, console)
            else:
                console.print(HELP, style="yellow")
        except InboxError as exc:
            console.print(f"error: {exc}", style="red")


def show(inbox: WorkerInbox, site: Site, console: Console) -> None:
    pending = inbox.pending()
    if not pending:
        console.print("no open incidents")
        return
    table = Table(title=f"open incidents ({len(pending)})")
    for column in ("#", "incident", "kind", "place", "confirmed", "status", "due", "evidence"):
        table.add_column(column)
    for number, entry in enumerate(pending, 1):
        alert = entry.alert
        place = f"{alert.camera_name} / {alert.zone} / {alert.grid_name or alert.grid_id or '-'}"
        due = entry.deadlines.resolve if entry.status is IncidentStatus.ACCEPTED else entry.deadlines.accept
        status = entry.status.value + (f" ({entry.sent.value} sent)" if entry.sent else "")
        table.add_row(str(number), entry.incident_id[:8], f"{alert.kind} {alert.kind_label_zh}", place,
                      local_time(alert.confirmed_at, site), status, local_time(due, site), alert.snapshot or "-")
    console.print(table)


def local_time(at: datetime, site: Site) -> str:
    return at.astimezone(site.config.tz).strftime("%m-%d %H:%M")

"""The `aibrain worker` arguments, added to the top parser by aibrain/cli.py beside the other commands'."""

from __future__ import annotations

import argparse
from pathlib import Path

BROKER_ENV = "AIBRAIN_WORKER_BROKER"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--id", required=True, dest="worker_id", help="your worker id, as in the site file")
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--broker", help=f"amqp(s) URL with your own credentials (default: ${BROKER_ENV}, else "
                                         "the site's broker as your worker user when the site holds your "
                                         "broker_password, else the site's broker)")
    parser.add_argument("--inbox", type=Path, help="local inbox file (default: ~/.local/state/aibrain/...)")
    actions = parser.add_subparsers(dest="worker_command")
    actions.add_parser("inbox", help="fetch new alerts and list your open incidents")
    accept = actions.add_parser("accept", help="accept an incident")
    accept.add_argument("incident", help="list number, incident id or its first characters")
    accept.add_argument("--note")
    resolve = actions.add_parser("resolve", help="report an incident resolved (the camera then verifies it)")
    resolve.add_argument("incident", help="list number, incident id or its first characters")
    resolve.add_argument("--note", required=True, help="what was done")

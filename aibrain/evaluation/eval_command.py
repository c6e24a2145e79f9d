"""`aibrain eval incidents --truth TRUTH.yaml FILE... --config SITE --camera ID`: arguments and output."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    verbs = parser.add_subparsers(dest="eval_command", required=True)
    verbs.add_parser("incidents", help="replay files and score the incidents against labelled truth")


def run(args: argparse.Namespace) -> int:
    raise NotImplementedError("aibrain eval incidents: being built (issue 12)")

"""`aibrain dataset export --since DATE --out DIR`: arguments and output."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    verbs = parser.add_subparsers(dest="dataset_command", required=True)
    verbs.add_parser("export", help="verified incidents and false alarms as an Ultralytics YOLO dataset")


def run(args: argparse.Namespace) -> int:
    raise NotImplementedError("aibrain dataset export: being built (issue 12)")

"""Loading a site file for a command: the site, or every problem printed and exit EXIT_CONFIG."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

from common.redact import redact_url
from configs.load import Site, load_site
from configs.problems import ConfigError, ConfigProblem

EXIT_CONFIG = 2


def load_or_exit(path: Path) -> Site:
    try:
        return load_site(path)
    except ConfigError as exc:
        exit_with_problems(exc.problems, path)


def exit_with_problems(problems: list[ConfigProblem], path: Path) -> NoReturn:
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    print(f"{len(problems)} problem(s) in {redact_url(str(path))}", file=sys.stderr)
    raise SystemExit(EXIT_CONFIG)

#!/usr/bin/env bash
# Installs everything the tests need on a fresh Debian machine, starts the services, then fails on the
# first finding of: ruff, mypy (strict on the stages, default on the app: see pyproject's [tool.mypy]),
# the packages' docstring examples run as doctests, and pytest.
# README's test command and .ci/run both call this script. Extra arguments go to pytest (default: tests/).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/setup.sh

install_system_packages
start_services
install_python_env ".[test,ultralytics]"

export AIBRAIN_ASSETS="${AIBRAIN_ASSETS:-$(cd .. && pwd)/shared}"
step() { echo "== $*"; }

step "ruff check"
.venv/bin/ruff check .
step "mypy"
.venv/bin/mypy
step "doctests"
.venv/bin/python -m pytest -q -p no:cacheprovider common streams detector routing configs aibrain models
step "pytest"
exec .venv/bin/python -m pytest "${@:-tests}"

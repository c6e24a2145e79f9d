#!/usr/bin/env bash
# Installs everything the tests need on a fresh Debian machine, starts the services, runs pytest.
# README's test command and .ci/run both call this script. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/setup.sh

install_system_packages
start_services
install_python_env ".[test,ultralytics]"

export AIBRAIN_ASSETS="${AIBRAIN_ASSETS:-$(cd .. && pwd)/shared}"
exec .venv/bin/python -m pytest "$@"

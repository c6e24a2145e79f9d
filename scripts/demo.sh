#!/usr/bin/env bash
# Installs AI Brain and runs the main job on its embedded default: SQLite and local files,
# the example site (configs/examples/site.yaml), until Ctrl-C. Extra arguments go to `aibrain run`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/setup.sh

install_system_packages
install_python_env "."

export AIBRAIN_ASSETS="${AIBRAIN_ASSETS:-$(cd .. && pwd)/shared}"
exec .venv/bin/aibrain run --config configs/examples/site.yaml "$@"

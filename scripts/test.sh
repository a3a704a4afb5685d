#!/bin/bash
# Set up (Debian packages, .venv, the tiny test guest), then run the whole suite.
# Run as root: most tests make their own network namespaces. Extra arguments go
# to pytest, e.g. scripts/test.sh -k argv -x
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# Lint and format first: a submission ruff does not accept fails here, in seconds (settings: pyproject.toml).
.venv/bin/ruff check .
.venv/bin/ruff format --check .
scripts/build-test-guest.sh
exec .venv/bin/python -m pytest "$@"

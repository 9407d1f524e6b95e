#!/usr/bin/env bash
# The test command: set up everything (idempotent), then run the whole suite with `uv run pytest`.
# Extra arguments go to pytest, e.g.  scripts/test.sh -k sensor -x
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/setup.sh
source scripts/setup.sh

step "Running tests (uv run pytest)"
uv run pytest "$@"

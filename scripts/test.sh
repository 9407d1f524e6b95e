#!/usr/bin/env bash
# The test command: set up everything (idempotent), then run the whole suite with `uv run pytest`.
# Extra arguments go to pytest, e.g.  scripts/test.sh -k sensor -x
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/setup.sh
source scripts/setup.sh

step "Chromium for the browser tests (Debian package; Playwright never downloads a browser)"
if ! command -v chromium >/dev/null 2>&1; then
    SUDO=""
    if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
    ${SUDO} apt-get update
    DEBIAN_FRONTEND=noninteractive ${SUDO} apt-get install -y --no-install-recommends chromium
fi
chromium --version

step "Running tests (uv run pytest, 2 worker processes)"
# pytest-xdist: 2 workers, each test module (and the whole deployment and ui directories, which
# share one Airflow deployment / api-server per worker) run by one worker, longest first
# (tests/conftest.py). Pass -n 0 to run in this process.
uv run pytest -n 2 --dist loadscope --no-loadscope-reorder "$@"

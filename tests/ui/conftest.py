"""Fixtures of the UI tests: seeded registry tables in DynamoDB Local and Airflow's real auth manager."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
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
def auth_manager(airflow_db: None) -> Any:
    """Airflow's configured auth manager (the simple auth manager), initialised like the api-server does."""
    from airflow.api_fastapi.app import init_auth_manager

    return init_auth_manager()

"""Fixtures for tests that run real Airflow: the metadata DB and a registry connection.

* ``airflow_db`` (session): a migrated SQLite metadata DB, for ``dag.test()``.
* ``registry_conn_id``: an ``aws`` connection given the way users give it, as an
  ``AIRFLOW_CONN_<ID>`` JSON environment variable pointing at DynamoDB Local with a table prefix
  unique to the test. Tables are NOT created.
* ``registry_hook``: a ``PipelineRegistryHook`` on that connection, with the tables created.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

import pytest

REGISTRY_CONN_ID = "pr_registry"
REGISTRY_USER_TIMEZONE = "America/New_York"
# dummy credentials, distinctive so that a leak into logs/repr/errors is easy to detect
TEST_ACCESS_KEY_ID = "AKIAPRTESTKEY7EXAMPLE"
TEST_SECRET_ACCESS_KEY = "prTestSecret/DoNotLog+k3y0123456789abcdEF"


def registry_connection(endpoint_url: str, table_prefix: str, **extra: Any) -> dict[str, Any]:
    """An ``aws`` connection in the JSON form of ``AIRFLOW_CONN_<ID>``."""
    extras: dict[str, Any] = {
        "endpoint_url": endpoint_url,
        "region_name": "us-east-1",
        "table_prefix": table_prefix,
        "user_timezone": REGISTRY_USER_TIMEZONE,
    }
    extras.update(extra)
    return {
        "conn_type": "aws",
        "login": TEST_ACCESS_KEY_ID,
        "password": TEST_SECRET_ACCESS_KEY,
        "extra": extras,
    }


def set_connection(monkeypatch: pytest.MonkeyPatch, conn_id: str, connection: dict[str, Any]) -> str:
    """Define ``conn_id`` through its ``AIRFLOW_CONN_<ID>`` variable (undone at test end)."""
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(connection))
    return conn_id


@pytest.fixture(scope="session")
def airflow_db() -> None:
    """A migrated Airflow metadata DB (the SQLite file set up in tests/conftest.py), once per session."""
    from airflow.utils.db import resetdb
    from airflow_versions import root_logging_kept

    with root_logging_kept():
        resetdb()


@pytest.fixture
def registry_conn_id(monkeypatch: pytest.MonkeyPatch, dynamodb_endpoint: str, unique_prefix: str) -> str:
    """Id of an ``aws`` connection to DynamoDB Local with a table prefix unique to this test."""
    return set_connection(monkeypatch, REGISTRY_CONN_ID, registry_connection(dynamodb_endpoint, unique_prefix))


@pytest.fixture
def registry_hook(registry_conn_id: str) -> Iterator[Any]:
    """A ``PipelineRegistryHook`` on ``registry_conn_id`` with the three tables created (dropped after)."""
    from airflow_provider_pipeline_registry.hooks.pipeline_registry import PipelineRegistryHook

    hook = PipelineRegistryHook(aws_conn_id=registry_conn_id)
    hook.create_tables()
    yield hook
    for name in hook.registry_config.describe()["tables"].values():
        with contextlib.suppress(Exception):  # already gone (a test dropped it): nothing to clean
            hook.conn.delete_table(TableName=name)

"""Fixtures for tests that run real Airflow: the metadata DB and a registry connection.

* ``airflow_db`` (session, tests/conftest.py): a migrated SQLite metadata DB, for ``dag.test()``.
* ``registry_conn_id``: an ``aws`` connection given the way users give it, as an
  ``AIRFLOW_CONN_<ID>`` JSON environment variable pointing at DynamoDB Local with a table prefix
  unique to the test. Tables are NOT created.
* ``registry_hook``: a ``PipelineRegistryHook`` on that connection, with the tables created.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
from airflow_connections import REGISTRY_CONN_ID, registry_connection, set_connection


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

"""Fixtures for the reliability suite: registries on real DynamoDB Local with fast retries."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from reliability_helpers import registry_on

from airflow_provider_pipeline_registry.registry import Registry

RegistryFactory = Callable[..., Registry]


@pytest.fixture
def make_registry(dynamodb_endpoint: str, unique_prefix: str) -> RegistryFactory:
    """``make_registry(**config_overrides)``: a Registry (own client) on the test's fresh tables."""

    def factory(**overrides: Any) -> Registry:
        return registry_on(dynamodb_endpoint, unique_prefix, **overrides)

    return factory


@pytest.fixture(scope="session")
def airflow_db() -> None:
    """A migrated Airflow metadata DB (tests/conftest.py sets up the SQLite file); migrated only
    if no earlier test (e.g. tests/airflow) did it already."""
    from airflow.utils.db import check_migrations, resetdb
    from airflow_versions import root_logging_kept

    try:
        check_migrations(timeout=1)
    except Exception:
        with root_logging_kept():
            resetdb()

"""Fixtures for the integration tests: a Registry on real DynamoDB Local with its own tables."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from backends import unavailable_features

from airflow_provider_pipeline_registry.registry import DynamoDBConfig, Registry

RegistryFactory = Callable[..., Registry]


@pytest.fixture
def make_registry(dynamodb_endpoint: str, unique_prefix: str) -> RegistryFactory:
    """``make_registry(**config_overrides)``: a Registry whose tables (prefix unique to the test) exist.

    Several calls in one test share the tables (same prefix) but may differ in timezone or retention.
    """

    def factory(**overrides: Any) -> Registry:
        settings: dict[str, Any] = {
            "endpoint_url": dynamodb_endpoint,
            "region": "us-east-1",
            "table_prefix": unique_prefix,
            "base_backoff_seconds": 0.01,
            "max_backoff_seconds": 0.2,
        }
        if "concurrent-transactions" in unavailable_features():
            settings["batch_concurrency"] = 1  # config and run batches are transactions: one at a time there
        settings.update(overrides)
        registry = Registry(DynamoDBConfig(**settings))
        registry.create_tables()
        return registry

    return factory


@pytest.fixture
def registry(make_registry: RegistryFactory) -> Registry:
    """A Registry on DynamoDB Local with freshly created tables (user timezone UTC)."""
    return make_registry()

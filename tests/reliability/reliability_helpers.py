"""Helpers shared by the reliability tests (registries with fast retries, item counts)."""

from __future__ import annotations

from typing import Any

from airflow_provider_pipeline_registry.registry import DynamoDBConfig, Registry

#: retries as fast as possible: the tests inject far more faults than production ever sees
FAST_RETRIES: dict[str, Any] = {"base_backoff_seconds": 0.001, "max_backoff_seconds": 0.01}


def registry_on(endpoint: str, prefix: str, *, create: bool = True, **overrides: Any) -> Registry:
    """A Registry with its own client on ``endpoint``; tables created unless ``create=False``."""
    settings: dict[str, Any] = {"endpoint_url": endpoint, "region": "us-east-1", "table_prefix": prefix}
    settings.update(FAST_RETRIES)
    settings.update(overrides)
    registry = Registry(DynamoDBConfig(**settings))
    if create:
        registry.create_tables()
    return registry


def scan_all(registry: Registry, logical: str) -> list[dict[str, Any]]:
    """Every raw item of a table (paginated, strongly consistent scan on the registry's client)."""
    items: list[dict[str, Any]] = []
    start: dict[str, Any] | None = None
    while True:
        params: dict[str, Any] = {"TableName": registry.config.table_name(logical), "ConsistentRead": True}  # type: ignore[arg-type]
        if start:
            params["ExclusiveStartKey"] = start
        page = registry.client.scan(**params)
        items.extend(page["Items"])
        start = page.get("LastEvaluatedKey")
        if not start:
            return items

"""Helpers shared by the reliability tests (registries with fast retries, item counts)."""

from __future__ import annotations

from typing import Any

from registry_fixtures import FAST_RETRIES as FAST_RETRIES
from registry_fixtures import registry_on as registry_on

from airflow_provider_pipeline_registry.registry import Registry


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


class Domain:
    """One config domain (pipelines or tables) of a registry, for tests that run a write on both."""

    def __init__(self, registry: Registry, kind: str) -> None:
        self.kind = kind
        self.read = registry.pipelines if kind == "pipelines" else registry.tables
        self.write = registry.pipelines_write if kind == "pipelines" else registry.tables_write
        self.id_field = "pipeline_id" if kind == "pipelines" else "table_id"

    def dto(self, item_id: str, **changes: Any) -> dict[str, Any]:
        if self.kind == "pipelines":
            return {"pipeline_id": item_id, "name": "Sales", **changes}
        return {"table_id": item_id, "pipeline_id": "sales", "table_name": "orders", **changes}

    def stored(self, item_id: str) -> Any:
        """The stored entity (a strongly consistent read), or None."""
        return self.read.find_entity(item_id, consistent=True)

    def stored_version(self, item_id: str) -> int | None:
        """The stored entity's version, or None when there is no item."""
        entity = self.stored(item_id)
        return None if entity is None else entity.version  # type: ignore[no-any-return]

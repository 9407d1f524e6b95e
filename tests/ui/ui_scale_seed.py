"""10,000 pipelines written straight into a registry's table (BatchWriteItem of stored entities),
for the search-and-scale tests: seeding through the core's conditional writes would take minutes."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from airflow_provider_pipeline_registry.registry import Registry
from airflow_provider_pipeline_registry.registry.pipeline_config import PipelineConfig

MANY = 10_000
#: the table prefix of the 10,000 pipelines of the ops tests (tests/ui/conftest.py: ``ten_thousand``)
TEN_THOUSAND_PREFIX = "ops_"
#: the last pipeline in id order, with a name no other pipeline's name contains
LAST_ID = f"pipe_{MANY - 1:05d}"
LAST_NAME = "Quarterly revenue rollup"


def pipeline_id(i: int) -> str:
    return f"pipe_{i:05d}"


def is_active(i: int) -> bool:
    """A third of the pipelines are inactive (so both index partitions are merged)."""
    return i % 3 != 1


def many_pipeline(i: int) -> dict[str, Any]:
    stamp = datetime(2026, 11, 1, tzinfo=UTC)
    return {
        "pipeline_id": pipeline_id(i),
        "name": LAST_NAME if i == MANY - 1 else f"Pipeline number {i}",
        "owner": f"team{i % 7}",
        "is_active": is_active(i),
        "tags": [f"group{i % 10}"],
        "version": 1,
        "created_at": stamp,
        "updated_at": stamp,
    }


def seed_many(registry: Registry, count: int = MANY) -> None:
    """``count`` pipelines (tables created), 25 per BatchWriteItem, unprocessed items re-sent."""
    registry.create_tables()
    table = registry.pipelines.gateway.table_name
    items = [PipelineConfig.model_validate(many_pipeline(i)).to_dynamodb_item() for i in range(count)]
    chunks = [items[i : i + 25] for i in range(0, len(items), 25)]

    def write(chunk: list[Any]) -> None:
        request: dict[str, Any] = {table: [{"PutRequest": {"Item": item}} for item in chunk]}
        while request:
            answer = registry.client.batch_write_item(RequestItems=request)
            request = answer.get("UnprocessedItems") or {}

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(write, chunks))

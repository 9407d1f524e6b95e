"""The one way the suite builds a registry on the test DynamoDB (tests/conftest.py's
``make_registry``/``registry`` fixtures use it; module- or session-scoped fixtures that need tables
shared by several tests call :func:`registry_on` directly, with :func:`new_prefix`).

A uniquely named module (not ``conftest``): test modules of every directory can import it in one
pytest call, where ``from conftest import ...`` would find whichever ``conftest`` came first.
"""

from __future__ import annotations

import uuid
from typing import Any

from backends import unavailable_features

from airflow_provider_pipeline_registry.registry import DynamoDBConfig, Registry

#: retries as fast as possible: tests inject far more faults than production ever sees
FAST_RETRIES: dict[str, Any] = {"base_backoff_seconds": 0.001, "max_backoff_seconds": 0.01}


def new_prefix(tag: str = "t") -> str:
    """A table-name prefix no other test uses, e.g. ``t1a2b3c4d5e_``."""
    return f"{tag}{uuid.uuid4().hex[:10]}_"


def registry_on(endpoint: str, prefix: str, *, create: bool = True, **overrides: Any) -> Registry:
    """A Registry with its own client on ``endpoint`` and tables ``<prefix>...`` (created, and
    waited for, unless ``create=False``), fast retries; ``overrides`` are DynamoDBConfig settings."""
    settings: dict[str, Any] = {"endpoint_url": endpoint, "region": "us-east-1", "table_prefix": prefix}
    settings.update(FAST_RETRIES)
    if "concurrent-transactions" in unavailable_features():
        settings["batch_concurrency"] = 1  # config and run batches are transactions: one at a time there
    settings.update(overrides)
    registry = Registry(DynamoDBConfig(**settings))
    if create:
        registry.create_tables()
    return registry


def create_with_all_projections(registry: Registry) -> None:
    """The registry's tables as an earlier version created them: every index projecting ``ALL``
    (what ``tables migrate-indexes`` moves over); waits until they are ACTIVE. The capacity
    benchmark plays runs on such a table too."""
    from airflow_provider_pipeline_registry.registry.schema import registry_models, table_definition

    for model in registry_models().values():
        definition = table_definition(model, registry.config)
        for index in definition.get("GlobalSecondaryIndexes", []):
            index["Projection"] = {"ProjectionType": "ALL"}
        registry.client.create_table(**definition)
    registry.create_tables()  # an existing table is left alone, and it is no error

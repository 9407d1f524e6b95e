"""Table definitions derived from the models' ``Meta``, and idempotent creation of the tables."""

from __future__ import annotations

import logging
from typing import Any

from .config import DynamoDBConfig
from .errors import RegistryValidationError
from .gateway import (
    DynamoDBClient,
    create_dynamodb_client,
    create_table,
    describe_table_status,
    enable_ttl,
    wait_until_active,
)
from .model import RegistryModel, extract_model_metadata
from .tables import LOGICAL_TABLES, TABLE_WAIT_SECONDS, TABLES, LogicalTable

log = logging.getLogger(__name__)


def registry_models() -> dict[LogicalTable, type[RegistryModel]]:
    """The model of each logical table (of :data:`.tables.TABLES`)."""
    return {t.logical: t.model() for t in TABLES}


def model_for_table(table: str) -> type[RegistryModel]:
    models = registry_models()
    if table not in models:
        raise RegistryValidationError(
            f"unknown registry table {table!r}; expected one of {sorted(models)}", field="table"
        )
    return models[table]


def table_definition(model: type[RegistryModel], config: DynamoDBConfig) -> dict[str, Any]:
    """The CreateTable request for ``model`` (on-demand billing), built from its ``Meta``."""
    meta = extract_model_metadata(model)

    def key_schema(partition: str, sort: str | None) -> list[dict[str, str]]:
        schema = [{"AttributeName": partition, "KeyType": "HASH"}]
        if sort:
            schema.append({"AttributeName": sort, "KeyType": "RANGE"})
        return schema

    definition: dict[str, Any] = {
        "TableName": config.table_name(meta.table),
        "KeySchema": key_schema(meta.partition_key, meta.sort_key),
        "AttributeDefinitions": [
            {"AttributeName": name, "AttributeType": meta.attribute_types[name]}
            for name in sorted(meta.index_key_attributes)
        ],
        "BillingMode": "PAY_PER_REQUEST",
    }
    if meta.gsis:
        definition["GlobalSecondaryIndexes"] = [
            {
                "IndexName": gsi.name,
                "KeySchema": key_schema(gsi.partition_key, gsi.sort_key),
                "Projection": {"ProjectionType": gsi.projection}
                | ({"NonKeyAttributes": list(gsi.non_key_attributes)} if gsi.projection == "INCLUDE" else {}),
            }
            for gsi in meta.gsis
        ]
    return definition


def create_tables(
    config: DynamoDBConfig, client: DynamoDBClient | None = None, *, timeout: float = TABLE_WAIT_SECONDS
) -> dict[str, bool]:
    """Create the registry's tables (:data:`.tables.TABLES`, and their GSIs) if they do not exist; TTL on the run logs'
    ``expire_at`` only when ``run_log_retention_days`` is configured.

    Idempotent: an existing table is left alone. Waits until every table is ACTIVE. Returns
    ``{table_name: created}``.
    """
    client = client or create_dynamodb_client(config)
    created: dict[str, bool] = {}
    for model in registry_models().values():
        definition = table_definition(model, config)
        created[definition["TableName"]] = create_table(client, definition, config)
        if created[definition["TableName"]]:
            log.info("created table %s", definition["TableName"])
    wait_until_active(client, list(created), config, timeout=timeout)
    if config.run_log_retention_days is not None:
        # TTL only when retention is configured: it needs extra IAM permissions, and some
        # implementations (dynalite) have no TTL API at all
        for model in registry_models().values():
            meta = extract_model_metadata(model)
            if meta.ttl_attribute:
                enable_ttl(client, config.table_name(meta.table), meta.ttl_attribute, config)
    return created


def tables_status(config: DynamoDBConfig, client: DynamoDBClient | None = None) -> dict[str, str | None]:
    """``{table_name: status}`` for the registry's tables; None for a table that does not exist."""
    client = client or create_dynamodb_client(config)
    return {config.table_name(t): describe_table_status(client, config.table_name(t), config) for t in LOGICAL_TABLES}

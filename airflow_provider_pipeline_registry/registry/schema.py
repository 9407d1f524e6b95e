"""Table definitions derived from the models' ``Meta``, and idempotent creation of the tables."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal

from .config import DynamoDBConfig
from .errors import RegistryValidationError
from .gateway import (
    DynamoDBClient,
    create_dynamodb_client,
    create_table,
    describe_table,
    describe_table_status,
    enable_ttl,
    update_table,
    wait_until_active,
    wait_until_index_gone,
)
from .model import GlobalSecondaryIndex, RegistryModel, extract_model_metadata
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


def _key_schema(partition: str, sort: str | None) -> list[dict[str, str]]:
    schema = [{"AttributeName": partition, "KeyType": "HASH"}]
    if sort:
        schema.append({"AttributeName": sort, "KeyType": "RANGE"})
    return schema


def index_definition(gsi: GlobalSecondaryIndex) -> dict[str, Any]:
    """The GSI as CreateTable (and UpdateTable's ``Create``) spell it."""
    projection: dict[str, Any] = {"ProjectionType": gsi.projection}
    if gsi.projection == "INCLUDE":
        projection["NonKeyAttributes"] = list(gsi.non_key_attributes)
    return {"IndexName": gsi.name, "KeySchema": _key_schema(gsi.partition_key, gsi.sort_key), "Projection": projection}


def table_definition(model: type[RegistryModel], config: DynamoDBConfig) -> dict[str, Any]:
    """The CreateTable request for ``model`` (on-demand billing), built from its ``Meta``."""
    meta = extract_model_metadata(model)
    definition: dict[str, Any] = {
        "TableName": config.table_name(meta.table),
        "KeySchema": _key_schema(meta.partition_key, meta.sort_key),
        "AttributeDefinitions": [
            {"AttributeName": name, "AttributeType": meta.attribute_types[name]}
            for name in sorted(meta.index_key_attributes)
        ],
        "BillingMode": "PAY_PER_REQUEST",
    }
    if meta.gsis:
        definition["GlobalSecondaryIndexes"] = [index_definition(gsi) for gsi in meta.gsis]
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


def _projection_text(projection: dict[str, Any] | None) -> str:
    """``ALL``, ``KEYS_ONLY``, ``INCLUDE(a, b)`` (names sorted: DynamoDB does not keep their order),
    or ``missing``."""
    if projection is None:
        return "missing"
    kind = str(projection.get("ProjectionType", "ALL"))
    if kind == "INCLUDE":
        return f"INCLUDE({', '.join(sorted(projection.get('NonKeyAttributes', [])))})"
    return kind


@dataclass(frozen=True)
class IndexMigration:
    """One GSI of a registry table whose projection differs from the model's (``current``:
    ``ALL``, ``INCLUDE(...)``, ``KEYS_ONLY`` or ``missing``), and what ``migrate_indexes`` does."""

    table: str
    index: str
    current: str
    declared: str
    action: Literal["recreate", "create"]

    def as_json(self) -> dict[str, str]:
        return {
            "table": self.table,
            "index": self.index,
            "current": self.current,
            "declared": self.declared,
            "action": self.action,
        }


def index_migrations(config: DynamoDBConfig, client: DynamoDBClient | None = None) -> list[IndexMigration]:
    """The GSIs of the existing registry tables whose projection (or existence) differs from the
    models' (a table created by an earlier version: the run indexes projected ``ALL``, a superset of
    what they need, so such a table keeps working, at the write cost docs/cost.md gives). A table
    that does not exist is left to :func:`create_tables`."""
    client = client or create_dynamodb_client(config)
    found: list[IndexMigration] = []
    for model in registry_models().values():
        meta = extract_model_metadata(model)
        name = config.table_name(meta.table)
        table = describe_table(client, name, config) if meta.gsis else None
        if table is None:
            continue
        existing = {i["IndexName"]: i.get("Projection") for i in table.get("GlobalSecondaryIndexes", [])}
        for gsi in meta.gsis:
            current = _projection_text(existing.get(gsi.name)) if gsi.name in existing else "missing"
            declared = _projection_text(index_definition(gsi)["Projection"])
            if current != declared:
                action: Literal["recreate", "create"] = "create" if current == "missing" else "recreate"
                found.append(IndexMigration(name, gsi.name, current, declared, action))
    return found


def migrate_indexes(
    config: DynamoDBConfig,
    client: DynamoDBClient | None = None,
    *,
    dry_run: bool = False,
    timeout: float = TABLE_WAIT_SECONDS,
) -> list[IndexMigration]:
    """Give each GSI of the existing tables the model's projection: an index that differs is deleted
    (one UpdateTable; waits until it is gone), then created again (one UpdateTable; waits until it
    is backfilled and ACTIVE), one index at a time (DynamoDB changes one GSI per UpdateTable).
    Returns what differed (with ``dry_run``: what would be done, nothing changed). Idempotent: run
    again after an interruption, it creates what is missing and waits for what is building.

    While an index is rebuilt, queries on it fail (the index is absent, then backfilling): run it
    when no reader needs the run lists. The backfill writes every item of the table into the new
    index once (on-demand: about 1 WCU per run for each index that holds it).
    """
    client = client or create_dynamodb_client(config)
    plan = index_migrations(config, client)
    if dry_run:
        return plan
    models = {config.table_name(extract_model_metadata(m).table): m for m in registry_models().values()}
    for step in plan:
        meta = extract_model_metadata(models[step.table])
        gsi = meta.index(step.index)
        if step.action == "recreate":
            log.info("deleting index %s of %s (%s)", step.index, step.table, step.current)
            update_table(client, step.table, config, GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": gsi.name}}])
            wait_until_index_gone(client, step.table, gsi.name, config, timeout=timeout)
        keys = [gsi.partition_key, *([gsi.sort_key] if gsi.sort_key else [])]
        log.info("creating index %s of %s (%s)", step.index, step.table, step.declared)
        update_table(
            client,
            step.table,
            config,
            AttributeDefinitions=[{"AttributeName": k, "AttributeType": meta.attribute_types[k]} for k in keys],
            GlobalSecondaryIndexUpdates=[{"Create": index_definition(gsi)}],
        )
        wait_until_active(client, [step.table], config, timeout=timeout)
    return plan

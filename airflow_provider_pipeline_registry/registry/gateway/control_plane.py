"""The control plane: describe, create and wait for tables, and turn on TTL (the schema's
idempotent table creation calls these), each call through the one call site and its mapping."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from ..config import DynamoDBConfig
from ..errors import AccessDeniedError, RegistryError, RegistryValidationError, RetryableError, TableNotFoundError
from ..model import RegistryModel, extract_model_metadata
from ..tables import TABLE_WAIT_SECONDS
from .calls import TableCallSite
from .client import DynamoDBClient


class _AdminModel(RegistryModel):
    class Meta:
        table = "pipeline_config"
        partition_key = "name"

    name: str = ""


_ADMIN_METADATA = extract_model_metadata(_AdminModel)


def describe_table(client: DynamoDBClient, table_name: str, config: DynamoDBConfig) -> dict[str, Any] | None:
    """The table's description (DescribeTable's ``Table``) or None when it does not exist."""
    gateway = TableCallSite(client, table_name, _ADMIN_METADATA, config)
    try:
        response = gateway.call("describe_table", TableName=table_name)
    except TableNotFoundError:
        return None
    return dict(response["Table"])


def describe_table_status(client: DynamoDBClient, table_name: str, config: DynamoDBConfig) -> str | None:
    """The table's status (``ACTIVE``, ``CREATING``...) or None when it does not exist."""
    table = describe_table(client, table_name, config)
    return None if table is None else str(table["TableStatus"])


def update_table(client: DynamoDBClient, table_name: str, config: DynamoDBConfig, **params: Any) -> None:
    """One UpdateTable of ``table_name`` (e.g. one GSI created or deleted)."""
    TableCallSite(client, table_name, _ADMIN_METADATA, config).call("update_table", TableName=table_name, **params)


def wait_until_index_gone(
    client: DynamoDBClient, table_name: str, index: str, config: DynamoDBConfig, *, timeout: float = TABLE_WAIT_SECONDS
) -> None:
    """Poll until the table no longer lists the GSI ``index`` (deleted) and is ACTIVE, or raise
    RetryableError at ``timeout``."""

    def gone(table: dict[str, Any]) -> bool:
        names = {i.get("IndexName") for i in table.get("GlobalSecondaryIndexes", [])}
        return index not in names and table["TableStatus"] == "ACTIVE"

    failure = f"index {index} of {table_name} is not deleted after {timeout:.0f}s"
    _poll(client, table_name, config, gone, failure, time.monotonic() + timeout)


def create_table(client: DynamoDBClient, definition: dict[str, Any], config: DynamoDBConfig) -> bool:
    """Create a table from a CreateTable definition; False (and no change) if it already exists."""
    name = definition["TableName"]
    gateway = TableCallSite(client, name, _ADMIN_METADATA, config)
    try:
        gateway.call("create_table", **definition)
    except RegistryError as exc:
        if isinstance(exc, RegistryValidationError | AccessDeniedError):
            raise
        if "ResourceInUseException" in exc.message or "already exists" in exc.message:
            return False
        raise
    return True


def enable_ttl(client: DynamoDBClient, table_name: str, attribute: str, config: DynamoDBConfig) -> None:
    """Turn on DynamoDB TTL on ``attribute`` (idempotent)."""
    gateway = TableCallSite(client, table_name, _ADMIN_METADATA, config)
    current = gateway.call("describe_time_to_live", TableName=table_name)
    status = current.get("TimeToLiveDescription", {}).get("TimeToLiveStatus")
    if status in {"ENABLED", "ENABLING"}:
        return
    gateway.call(
        "update_time_to_live",
        TableName=table_name,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": attribute},
    )


def wait_until_active(
    client: DynamoDBClient, table_names: Sequence[str], config: DynamoDBConfig, *, timeout: float = TABLE_WAIT_SECONDS
) -> None:
    """Poll until every table (and its indexes) is ACTIVE, or raise RetryableError at ``timeout``."""

    def active(table: dict[str, Any]) -> bool:
        indexes_ready = all(i.get("IndexStatus") == "ACTIVE" for i in table.get("GlobalSecondaryIndexes", []))
        return table["TableStatus"] == "ACTIVE" and indexes_ready

    deadline = time.monotonic() + timeout
    for name in table_names:
        _poll(client, name, config, active, f"table {name} is not ACTIVE after {timeout:.0f}s", deadline)


def _poll(
    client: DynamoDBClient,
    table_name: str,
    config: DynamoDBConfig,
    ready: Callable[[dict[str, Any]], bool],
    failure: str,
    deadline: float,
) -> None:
    """Describe the table every second until ``ready`` says so; RetryableError(``failure``) past
    ``deadline`` (a table that does not exist raises TableNotFoundError)."""
    gateway = TableCallSite(client, table_name, _ADMIN_METADATA, config)
    while True:
        if ready(gateway.call("describe_table", TableName=table_name)["Table"]):
            return
        if time.monotonic() > deadline:
            raise RetryableError(failure, table=table_name)
        time.sleep(1.0)

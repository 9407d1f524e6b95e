"""The one package that calls DynamoDB.

It owns: client creation with bounded timeouts and botocore's retry mode, expression building
(always through placeholders), pagination of Query/Scan, chunking of BatchWriteItem (25) and
BatchGetItem (100), re-sending of unprocessed items with exponential backoff and full jitter, and
the mapping of botocore errors to the registry's own errors.

Transport retries (throttling, 5xx with or without an error code, 429, connection faults, CRC32
mismatches) are botocore's: its ``standard`` or ``adaptive`` retry mode, ``max_attempts`` in all,
with its retry quota and ``x-amz-retry-after``. The gateway makes ONE client call per operation
and maps what outlived those attempts; it retries only what botocore cannot see: the
``UnprocessedItems``/``UnprocessedKeys`` of a successful batch call.

One module per job: ``client`` (the client, its retry configuration and answer check),
``expressions`` (placeholders), ``calls`` (the single call site and the error mapping),
``data_plane`` (items, transactions, queries: ``TableGateway``), ``transactions`` (one
transaction over several tables: a run's end with its watermarks), ``batches`` (batch reads and
writes) and ``control_plane`` (tables and TTL). Import from here: the names below are the API.
"""

from __future__ import annotations

from .batches import BATCH_GET_LIMIT, BATCH_WRITE_LIMIT, BatchOperations, BatchWriteResult
from .calls import ACCESS_CODES, RETRYABLE_CODES, TRANSIENT_NETWORK_ERRORS, TableCallSite
from .client import (
    BOTOCORE_DEFAULT_POOL,
    DEFAULT_POOL_CONNECTIONS,
    Backoff,
    DynamoDBClient,
    botocore_config,
    create_dynamodb_client,
)
from .control_plane import (
    create_table,
    describe_table,
    describe_table_status,
    enable_ttl,
    update_table,
    wait_until_active,
    wait_until_index_gone,
)
from .data_plane import TRANSACT_BYTES, TRANSACT_LIMIT, Page, TableGateway, TransactResult, create_table_gateway
from .transactions import TransactAction, TransactOutcome, transact_write

__all__ = [
    "ACCESS_CODES",
    "BATCH_GET_LIMIT",
    "BATCH_WRITE_LIMIT",
    "BOTOCORE_DEFAULT_POOL",
    "DEFAULT_POOL_CONNECTIONS",
    "RETRYABLE_CODES",
    "TRANSACT_BYTES",
    "TRANSACT_LIMIT",
    "TRANSIENT_NETWORK_ERRORS",
    "Backoff",
    "BatchOperations",
    "BatchWriteResult",
    "DynamoDBClient",
    "Page",
    "TableCallSite",
    "TableGateway",
    "TransactAction",
    "TransactOutcome",
    "TransactResult",
    "botocore_config",
    "create_dynamodb_client",
    "create_table",
    "create_table_gateway",
    "describe_table",
    "describe_table_status",
    "enable_ttl",
    "transact_write",
    "update_table",
    "wait_until_active",
    "wait_until_index_gone",
]

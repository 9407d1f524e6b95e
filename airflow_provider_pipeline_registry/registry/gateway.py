"""The one module that calls DynamoDB.

It owns: client creation with bounded timeouts and botocore's retry mode, expression building
(always through placeholders), pagination of Query/Scan, chunking of BatchWriteItem (25) and
BatchGetItem (100), re-sending of unprocessed items with exponential backoff and full jitter, and
the mapping of botocore errors to the registry's own errors.

Transport retries (throttling, 5xx with or without an error code, 429, connection faults, CRC32
mismatches) are botocore's: its ``standard`` or ``adaptive`` retry mode, ``max_attempts`` in all,
with its retry quota and ``x-amz-retry-after``. The gateway makes ONE client call per operation
and maps what outlived those attempts; it retries only what botocore cannot see: the
``UnprocessedItems``/``UnprocessedKeys`` of a successful batch call.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import boto3
from botocore.config import Config as BotocoreConfig
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    HTTPClientError,
    NoCredentialsError,
)
from botocore.exceptions import ConnectionError as BotocoreConnectionError

from .attributes import AttributeValue, Item, check_item_size, decode_item, encode_value
from .conditions import (
    And,
    AttributeExists,
    AttributeNotExists,
    Compare,
    Condition,
    In,
    KeyCondition,
    NestedNotExists,
    Not,
    Or,
    Plus,
    SameAs,
    Update,
)
from .config import DynamoDBConfig, LogicalTable
from .errors import (
    AccessDeniedError,
    ConflictError,
    CorruptItemError,
    EndpointNotDynamoDBError,
    RegistryConnectionError,
    RegistryError,
    RetryableError,
    TableNotFoundError,
    ValidationError,
    aws_provenance,
    describe_foreign_answer,
    redact,
)
from .model import ModelMetadata, RegistryModel, extract_model_metadata

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient as DynamoDBClient
else:
    DynamoDBClient = Any

log = logging.getLogger(__name__)
T = TypeVar("T")

BATCH_WRITE_LIMIT = 25
BATCH_GET_LIMIT = 100
#: the connection pool of a registry client (raised to ``batch_concurrency`` when that is larger)
DEFAULT_POOL_CONNECTIONS = 32
#: botocore's own default ``max_pool_connections``
BOTOCORE_DEFAULT_POOL = 10
#: error codes that mean "try again later": botocore retried them; what outlived its attempts
#: becomes RetryableError (botocore's throttling and transient codes, plus DynamoDB's 5xx codes)
RETRYABLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "LimitExceededException",
        "TransactionInProgressException",
        # global tables: a write raced one in another Region (HTTP 409); botocore retries it in
        # every mode (modeled retryable, legacy _retry.json), what outlives that is transient too
        "ReplicatedWriteConflictException",
        "PriorRequestNotComplete",
        "RequestTimeout",
        "RequestTimeoutException",
        "InternalServerError",
        "InternalFailure",
        "ServiceUnavailable",
        "ServiceUnavailableException",
    }
)
ACCESS_CODES = frozenset(
    {
        "AccessDeniedException",
        "UnrecognizedClientException",
        "InvalidSignatureException",
        "MissingAuthenticationTokenException",
        "ExpiredTokenException",
        "IncompleteSignature",
    }
)
#: botocore's transport faults (refused/timed-out connects, resets, read timeouts, proxy errors):
#: its retry handler retries exactly these classes
TRANSIENT_NETWORK_ERRORS = (BotocoreConnectionError, HTTPClientError)
_ATTEMPT_COUNTER_ID = "pipeline-registry-attempt-counter"


def botocore_config(config: DynamoDBConfig, base: BotocoreConfig | None = None) -> BotocoreConfig:
    """The botocore ``Config`` of a registry client: ``base`` (default: the registry's bounded
    timeouts and pool) with botocore's ``retry_mode`` retries, ``max_attempts`` attempts in all."""
    if base is None:
        base = BotocoreConfig(
            connect_timeout=config.connect_timeout,
            read_timeout=config.read_timeout,
            max_pool_connections=DEFAULT_POOL_CONNECTIONS,
        )
    merged = base.merge(BotocoreConfig(retries={"mode": config.retry_mode, "total_max_attempts": config.max_attempts}))
    if (getattr(merged, "max_pool_connections", None) or BOTOCORE_DEFAULT_POOL) < config.batch_concurrency:
        # every parallel batch chunk needs its own pooled connection (derived, never declared twice)
        merged = merged.merge(BotocoreConfig(max_pool_connections=config.batch_concurrency))
    return merged


def create_dynamodb_client(config: DynamoDBConfig, session: boto3.session.Session | None = None) -> DynamoDBClient:
    """A DynamoDB client with bounded connect/read timeouts and botocore's retries (``retry_mode``)."""
    session = session or boto3.session.Session()
    return session.client(
        "dynamodb", region_name=config.region, endpoint_url=config.endpoint_url, config=botocore_config(config)
    )


class _AttemptCounter:
    """Counts the HTTP attempts botocore makes for the calls of the current thread."""

    def __init__(self) -> None:
        self._local = threading.local()

    def reset(self) -> None:
        self._local.count = 0

    @property
    def count(self) -> int:
        return getattr(self._local, "count", 0)

    def __call__(self, **_: Any) -> None:
        self._local.count = self.count + 1


_ATTEMPTS = _AttemptCounter()


def _count_attempts(client: Any) -> None:
    """Register the attempt counter and the answer check on ``client`` (once: the handler ids are unique)."""
    events = getattr(getattr(client, "meta", None), "events", None)
    if events is not None:
        events.register("request-created.dynamodb", _ATTEMPTS, unique_id=_ATTEMPT_COUNTER_ID)
        events.register("before-parse.dynamodb", _check_dynamodb_answer, unique_id=_ANSWER_CHECK_ID)


_ANSWER_CHECK_ID = "pipeline-registry-answer-check"


class _ForeignAnswer(Exception):
    """Raised by :func:`_check_dynamodb_answer` (inside botocore); the gateway maps it."""

    def __init__(self, status: int, content_type: str | None, body: bytes) -> None:
        super().__init__(status)
        self.status = status
        self.content_type = content_type
        self.body = body


def _json_object(body: bytes) -> dict[str, Any] | None:
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def _check_dynamodb_answer(response_dict: Mapping[str, Any], **_: Any) -> None:
    """Refuse an answer DynamoDB never gives, before botocore parses it.

    DynamoDB answers JSON: an object on success, an object with ``__type`` on a 4xx. Anything else
    (an empty 404, an HTML page, a 200 that is not JSON) comes from something else at the endpoint;
    botocore would turn it into ``DynamoDB error 404:`` with the page as the message, or parse a
    non-JSON 200 as an empty result (a ``get`` would say "not found"). 5xx and 429 answers are left
    to botocore's retries (a proxy's HTML 502 is transient) and mapped after them; an empty 2xx is
    left alone (no DynamoDB API the registry calls answers one, and no check is safer than a guess).
    """
    status = response_dict.get("status_code")
    body = response_dict.get("body")
    if not isinstance(status, int) or not isinstance(body, bytes) or status >= 500 or status == 429:
        return
    headers = response_dict.get("headers") or {}
    content_type = next((str(v) for k, v in headers.items() if str(k).lower() == "content-type"), None)
    if status < 300:
        if body.strip() and _json_object(body) is None:
            raise _ForeignAnswer(status, content_type, body)
        return
    parsed = _json_object(body) if body.strip() else None
    if parsed is None or not any(k in parsed for k in ("__type", "code", "Code")):
        raise _ForeignAnswer(status, content_type, body)


class Backoff:
    """Exponential backoff with full jitter, bounded by ``max_attempts``: the gateway's re-sending
    of unprocessed batch items and keys (transport retries are botocore's)."""

    def __init__(self, config: DynamoDBConfig, sleep: Callable[[float], None] = time.sleep) -> None:
        self.max_attempts = config.max_attempts
        self.base = config.base_backoff_seconds
        self.cap = config.max_backoff_seconds
        self.sleep = sleep

    def delay(self, attempt: int) -> float:
        return random.uniform(0, min(self.cap, self.base * (2**attempt)))

    def wait(self, attempt: int) -> None:
        self.sleep(self.delay(attempt))


class _Expressions:
    """Collects ``#n``/``:v`` placeholders while compiling conditions and updates."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        self.values: dict[str, AttributeValue] = {}
        #: the attribute path each value placeholder stands for (for size checks and errors)
        self.paths: dict[str, str] = {}
        self._name_ids: dict[str, str] = {}

    def name(self, attribute: str) -> str:
        """A placeholder for one top-level attribute name (a "." in it is part of the name)."""
        if attribute not in self._name_ids:
            placeholder = f"#n{len(self._name_ids)}"
            self._name_ids[attribute] = placeholder
            self.names[placeholder] = attribute
        return self._name_ids[attribute]

    def path(self, segments: tuple[str, ...]) -> str:
        """A document path into nested maps, each segment through its own placeholder."""
        return ".".join(self.name(segment) for segment in segments)

    def value(self, value: Any, path: str, as_key_string: bool = False) -> str:
        placeholder = f":v{len(self.values)}"
        self.values[placeholder] = encode_value(value, path, as_key_string=as_key_string)
        self.paths[placeholder] = path
        return placeholder

    def condition(self, cond: Condition) -> str:
        if isinstance(cond, AttributeExists):
            return f"attribute_exists({self.name(cond.name)})"
        if isinstance(cond, AttributeNotExists):
            return f"attribute_not_exists({self.name(cond.name)})"
        if isinstance(cond, NestedNotExists):
            return f"attribute_not_exists({self.path(cond.path)})"
        if isinstance(cond, Compare):
            return f"{self.name(cond.name)} {cond.op} {self.value(cond.value, cond.name, cond.as_key_string)}"
        if isinstance(cond, SameAs):
            return f"{self.name(cond.name)} = {self.name(cond.other)}"
        if isinstance(cond, In):
            if not cond.values:
                raise ValidationError(f"{cond.name}: IN needs at least one value", field=cond.name)
            placeholders = ", ".join(self.value(v, cond.name) for v in cond.values)
            return f"{self.name(cond.name)} IN ({placeholders})"
        if isinstance(cond, And):
            return "(" + " AND ".join(self.condition(p) for p in cond.parts) + ")"
        if isinstance(cond, Or):
            return "(" + " OR ".join(self.condition(p) for p in cond.parts) + ")"
        if isinstance(cond, Not):
            return f"(NOT {self.condition(cond.part)})"
        raise TypeError(f"unknown condition {cond!r}")

    def key_condition(self, kc: KeyCondition) -> str:
        text = f"{self.name(kc.partition_name)} = {self.value(kc.partition_value, kc.partition_name, True)}"
        if kc.sort_name and kc.sort_op:
            name = self.name(kc.sort_name)
            vals = [self.value(v, kc.sort_name, True) for v in kc.sort_values]
            if kc.sort_op == "between":
                text += f" AND {name} BETWEEN {vals[0]} AND {vals[1]}"
            elif kc.sort_op == "begins_with":
                text += f" AND begins_with({name}, {vals[0]})"
            else:
                text += f" AND {name} {kc.sort_op} {vals[0]}"
        return text

    def update(self, update: Update) -> str:
        clauses = []
        sets = [f"{self.name(k)} = {self.value(v, k, k in update.key_strings)}" for k, v in update.set.items()]
        sets += [
            f"{self.name(k)} = if_not_exists({self.name(k)}, {self.value(v, k, k in update.key_strings)})"
            for k, v in update.set_if_absent.items()
        ]
        sets += [f"{self.path(path)} = {self.operand(v, '.'.join(path))}" for path, v in update.set_nested.items()]
        if sets:
            clauses.append("SET " + ", ".join(sets))
        if update.add:
            clauses.append("ADD " + ", ".join(f"{self.name(k)} {self.value(v, k)}" for k, v in update.add.items()))
        if update.remove:
            clauses.append("REMOVE " + ", ".join(self.name(k) for k in update.remove))
        if not clauses:
            raise ValidationError("an update must change at least one attribute", field="update")
        return " ".join(clauses)

    def operand(self, value: Any, path: str) -> str:
        """A SET right-hand side: a value, or a :class:`Plus` computed from the stored item."""
        if isinstance(value, Plus):
            return f"{self.name(value.name)} + {self.value(value.amount, value.name)}"
        return self.value(value, path)

    def projection(self, attributes: Sequence[str]) -> str:
        return ", ".join(self.name(a) for a in attributes)

    def apply(self, params: dict[str, Any]) -> dict[str, Any]:
        if self.names:
            params["ExpressionAttributeNames"] = self.names
        if self.values:
            params["ExpressionAttributeValues"] = self.values
        return params


@dataclass
class Page:
    """One page of a Query or Scan: decoded-later raw items and the key to resume from."""

    items: list[Item]
    last_evaluated_key: dict[str, AttributeValue] | None


@dataclass
class _ChunkOutcome:
    """What one chunk of a batch write did (``reason`` None: never started)."""

    written: int
    unwritten: list[dict[str, Any]]
    reason: str | None


class _BatchRun:
    """The state the chunks of one batch write share: whether to start more, and why not."""

    def __init__(self) -> None:
        self.stopped = threading.Event()
        self._lock = threading.Lock()
        self._reason: str | None = None
        self.error: BaseException | None = None

    def stop(self, reason: str, error: BaseException | None = None) -> None:
        """Start no further chunk; the first reason (and error) wins."""
        with self._lock:
            if self._reason is None:
                self._reason = reason
            if error is not None and self.error is None:
                self.error = error
        self.stopped.set()

    def abort_reason(self) -> str:
        with self._lock:
            return self._reason or "not written"


#: the most actions DynamoDB takes in one TransactWriteItems (and its total request size)
TRANSACT_LIMIT = 100
TRANSACT_BYTES = 4 * 1024 * 1024
_TRANSACT_CODES = frozenset({"TransactionCanceledException", "UnknownOperationException"})


@dataclass
class TransactResult:
    """What one TransactWriteItems did: applied (all), or not, with each action's reason."""

    applied: bool
    supported: bool = True
    reasons: list[tuple[str, Item | None]] = field(default_factory=list)


@dataclass
class BatchWriteResult:
    """What a batch write did: how many items were written, and which (if any) could not be."""

    written: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)


def _redacted(exc: ClientError) -> ClientError:
    """``exc`` with its text redacted, to chain as a RegistryError's ``__cause__``: a traceback
    shows it, and DynamoDB's message is not ours to trust (the same redaction as the message)."""
    exc.args = tuple(redact(arg) if isinstance(arg, str) else arg for arg in exc.args)
    return exc


class TableGateway:
    """Every DynamoDB call on one table goes through an instance of this class."""

    def __init__(
        self,
        client: DynamoDBClient,
        table_name: str,
        metadata: ModelMetadata,
        config: DynamoDBConfig,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.table_name = table_name
        self.metadata = metadata
        self.config = config
        self.backoff = Backoff(config, sleep)
        _count_attempts(client)

    def __repr__(self) -> str:
        return f"TableGateway(table={self.table_name!r})"

    # -- the single call site ------------------------------------------------------------------
    def call(
        self,
        operation: str,
        key: Mapping[str, Any] | None = None,
        *,
        unmapped: frozenset[str] = frozenset(),
        **params: Any,
    ) -> dict[str, Any]:
        """Call ``operation`` once (botocore retries transport faults inside); map the errors
        (a ClientError whose code is in ``unmapped`` is raised as it is, for the caller to read)."""
        method = getattr(self.client, operation)
        _ATTEMPTS.reset()
        try:
            return method(**params)  # type: ignore[no-any-return]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in unmapped:
                raise
            raise self._map_client_error(exc, operation, key) from _redacted(exc)
        except _ForeignAnswer as answer:
            endpoint = self.config.endpoint_url or str(getattr(self.client.meta, "endpoint_url", "the AWS endpoint"))
            raise EndpointNotDynamoDBError(
                describe_foreign_answer(endpoint, answer.status, answer.content_type, answer.body),
                endpoint=endpoint,
                status=answer.status,
                operation=operation,
                table=self.table_name,
            ) from None
        except TRANSIENT_NETWORK_ERRORS as exc:
            raise RegistryConnectionError(
                f"cannot reach DynamoDB at {self.config.endpoint_url or 'the AWS endpoint'} "
                f"({type(exc).__name__}) {self._attempts_text()}",
                operation=operation,
                table=self.table_name,
                key=self._plain_key(key),
            ) from None
        except NoCredentialsError:
            raise AccessDeniedError(
                "no AWS credentials found: configure the aws connection, AWS_PROFILE or the "
                "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY variables",
                operation=operation,
                table=self.table_name,
            ) from None
        except BotoCoreError as exc:
            raise RegistryError(
                f"{type(exc).__name__}: {exc}",
                operation=operation,
                table=self.table_name,
                key=self._plain_key(key),
            ) from None

    def _attempts_text(self, retry_attempts: int | None = None) -> str:
        attempts = retry_attempts + 1 if retry_attempts is not None else _ATTEMPTS.count
        if attempts <= 0:
            return f"(botocore {self.config.retry_mode} retries, max_attempts={self.config.max_attempts})"
        return f"after {attempts} attempt{'s' if attempts != 1 else ''}"

    @staticmethod
    def _plain_key(key: Mapping[str, Any] | None) -> dict[str, Any] | None:
        if not key:
            return None
        return {k: (decode_item({k: v})[k] if isinstance(v, dict) else v) for k, v in key.items()}

    def _map_client_error(self, exc: ClientError, operation: str, key: Mapping[str, Any] | None) -> RegistryError:
        error = exc.response.get("Error", {})
        code, message = error.get("Code", "Unknown"), error.get("Message", "")
        metadata = exc.response.get("ResponseMetadata", {})
        status = metadata.get("HTTPStatusCode")
        context: dict[str, Any] = {
            "operation": operation,
            "table": self.table_name,
            "key": self._plain_key(key),
            "aws_error_code": error.get("Code"),
            "aws_request_id": metadata.get("RequestId"),
        }
        if code == "ConditionalCheckFailedException":
            old = exc.response.get("Item")
            return ConflictError(
                f"condition failed on {self.table_name}",
                current=self._stored(old, operation) if isinstance(old, dict) else None,
                **context,
            )
        if code in RETRYABLE_CODES or status == 429 or (isinstance(status, int) and status >= 500):
            # what botocore's retries could not get past (a code-less 5xx from a proxy included)
            answer = code if code and not code.isdigit() else f"HTTP {status} {message}".rstrip()
            quota = " (botocore's retry quota is exhausted)" if metadata.get("RetryQuotaReached") else ""
            return RetryableError(
                f"DynamoDB kept answering {answer} {self._attempts_text(metadata.get('RetryAttempts'))}{quota}",
                **context,
            )
        if code == "ResourceNotFoundException":
            return TableNotFoundError(
                f"table {self.table_name} does not exist: create it with create_tables(config), "
                "PipelineRegistryHook.create_tables() or `pipeline-registry tables create`",
                **context,
            )
        if code in ACCESS_CODES:
            return AccessDeniedError(f"DynamoDB refused the call ({code}): {message}", **context)
        if code == "ValidationException":
            return ValidationError(f"DynamoDB rejected the request: {message}", **context)
        return RegistryError(f"DynamoDB error {code}: {message}", **context)

    def _stored(self, raw: Mapping[str, AttributeValue], operation: str) -> dict[str, Any]:
        """Decode a stored item the write found; one that does not validate is CorruptItemError."""
        try:
            self.metadata.model.from_dynamodb_item(raw, table=self.table_name)
        except CorruptItemError as exc:
            raise CorruptItemError(
                exc.message, field=exc.field, errors=exc.errors, operation=operation, table=exc.table, key=exc.key
            ) from None
        return decode_item(raw)

    def _conditional(self, operation: str, key: dict[str, AttributeValue], params: dict[str, Any]) -> dict[str, Any]:
        """A conditional write. A failed condition without the stored item (implementations that
        ignore ``ReturnValuesOnConditionCheckFailure``, or no item) is confirmed with ONE consistent
        read: the ConflictError carries what is stored (``current``), None only if nothing is."""
        try:
            return self.call(operation, key, **params)
        except ConflictError as exc:
            if exc.current is not None:
                raise
            found = self.get_item(key, consistent=True)
            raise ConflictError(
                exc.message,
                current=self._stored(found, operation) if found else None,
                operation=operation,
                table=self.table_name,
                key=self._plain_key(key),
                **aws_provenance(exc),
            ) from exc.__cause__

    # -- single items --------------------------------------------------------------------------
    def get_item(
        self,
        key: dict[str, AttributeValue],
        *,
        consistent: bool = False,
        projection: Sequence[str] | None = None,
    ) -> Item | None:
        params: dict[str, Any] = {"TableName": self.table_name, "Key": key, "ConsistentRead": consistent}
        expr = _Expressions()
        if projection:
            params["ProjectionExpression"] = expr.projection(projection)
        response = self.call("get_item", key, **expr.apply(params))
        return response.get("Item")

    def put_item(self, item: Item, *, condition: Condition | None = None) -> None:
        """Put a whole item; a failed ``condition`` raises ConflictError with the stored item."""
        check_item_size(item, what=f"item for {self.table_name}")
        params: dict[str, Any] = {"TableName": self.table_name, "Item": item}
        expr = _Expressions()
        if condition is not None:
            params["ConditionExpression"] = expr.condition(condition)
            params["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        key = {k: item[k] for k in self.metadata.key_names}
        if condition is None:
            self.call("put_item", key, **expr.apply(params))
        else:
            self._conditional("put_item", key, expr.apply(params))

    def update_item(
        self, key: dict[str, AttributeValue], update: Update, *, condition: Condition | None = None
    ) -> Item:
        """Apply ``update``; returns the item as stored afterwards (ALL_NEW)."""
        expr = _Expressions()
        params: dict[str, Any] = {
            "TableName": self.table_name,
            "Key": key,
            "UpdateExpression": expr.update(update),
            "ReturnValues": "ALL_NEW",
        }
        # the values the update writes, by attribute, so an oversized one is named in the error
        written = {expr.paths[p]: v for p, v in expr.values.items()}
        check_item_size({**key, **written}, what=f"update of {self.table_name}")
        if condition is not None:
            params["ConditionExpression"] = expr.condition(condition)
            params["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        if condition is None:
            response = self.call("update_item", key, **expr.apply(params))
        else:
            response = self._conditional("update_item", key, expr.apply(params))
        return response.get("Attributes", {})  # type: ignore[no-any-return]

    def delete_item(self, key: dict[str, AttributeValue], *, condition: Condition | None = None) -> Item | None:
        """Delete; returns the deleted item (None if there was none)."""
        expr = _Expressions()
        params: dict[str, Any] = {"TableName": self.table_name, "Key": key, "ReturnValues": "ALL_OLD"}
        if condition is not None:
            params["ConditionExpression"] = expr.condition(condition)
            params["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        if condition is None:
            response = self.call("delete_item", key, **expr.apply(params))
        else:
            response = self._conditional("delete_item", key, expr.apply(params))
        return response.get("Attributes")

    def transact_put(self, puts: Sequence[tuple[Item, Condition | None]]) -> TransactResult:
        """One ``TransactWriteItems`` of conditional puts on this table: all applied, or none.

        Not applied: per put, DynamoDB's cancellation reason code (``"None"`` for a put that was
        not the cause) and the stored item when it returned one. An implementation without
        transactions (dynalite) gives ``supported=False``. At most ``TRANSACT_LIMIT`` puts."""
        if len(puts) > TRANSACT_LIMIT:
            raise ValidationError(f"a transaction takes at most {TRANSACT_LIMIT} items, got {len(puts)}", field="items")
        actions: list[dict[str, Any]] = []
        for item, condition in puts:
            check_item_size(item, what=f"item for {self.table_name}")
            put: dict[str, Any] = {"TableName": self.table_name, "Item": item}
            if condition is not None:
                expr = _Expressions()
                put["ConditionExpression"] = expr.condition(condition)
                put["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
                expr.apply(put)
            actions.append({"Put": put})
        try:
            self.call("transact_write_items", unmapped=_TRANSACT_CODES, TransactItems=actions)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "UnknownOperationException":
                return TransactResult(applied=False, supported=False)
            reasons: list[Any] = list(exc.response.get("CancellationReasons") or [{}] * len(puts))
            return TransactResult(applied=False, reasons=[(str(r.get("Code", "None")), r.get("Item")) for r in reasons])
        return TransactResult(applied=True)

    # -- queries -------------------------------------------------------------------------------
    def query(
        self,
        key_condition: KeyCondition,
        *,
        limit: int | None = None,
        start_key: dict[str, AttributeValue] | None = None,
        newest_first: bool = False,
        consistent: bool = False,
        projection: Sequence[str] | None = None,
        filter_condition: Condition | None = None,
    ) -> Page:
        """One page of results; follows DynamoDB's 1 MB pages until ``limit`` items are collected."""
        if consistent and key_condition.index_name:
            raise ValidationError("a global secondary index cannot be read consistently", field="consistent")
        expr = _Expressions()
        params: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": expr.key_condition(key_condition),
            "ScanIndexForward": not newest_first,
            "ConsistentRead": consistent,
        }
        if key_condition.index_name:
            params["IndexName"] = key_condition.index_name
        if projection:
            params["ProjectionExpression"] = expr.projection(projection)
        if filter_condition is not None:
            params["FilterExpression"] = expr.condition(filter_condition)
        return self._collect("query", expr.apply(params), limit, start_key)

    def scan(
        self,
        *,
        limit: int | None = None,
        start_key: dict[str, AttributeValue] | None = None,
        filter_condition: Condition | None = None,
        projection: Sequence[str] | None = None,
    ) -> Page:
        expr = _Expressions()
        params: dict[str, Any] = {"TableName": self.table_name}
        if filter_condition is not None:
            params["FilterExpression"] = expr.condition(filter_condition)
        if projection:
            params["ProjectionExpression"] = expr.projection(projection)
        return self._collect("scan", expr.apply(params), limit, start_key)

    def _collect(
        self,
        operation: str,
        params: dict[str, Any],
        limit: int | None,
        start_key: dict[str, AttributeValue] | None,
    ) -> Page:
        if limit is not None and limit < 1:
            raise ValidationError(f"limit must be at least 1, got {limit}", field="limit")
        items: list[Item] = []
        last_key = start_key
        while True:
            call_params = dict(params)
            if last_key:
                call_params["ExclusiveStartKey"] = last_key
            if limit is not None:
                call_params["Limit"] = limit - len(items)
            response = self.call(operation, **call_params)
            items.extend(response.get("Items", []))
            last_key = response.get("LastEvaluatedKey")
            if not last_key or (limit is not None and len(items) >= limit):
                return Page(items=items, last_evaluated_key=last_key)

    def iterate(self, fetch_page: Callable[[dict[str, AttributeValue] | None], Page]) -> Iterator[Item]:
        """Walk every page produced by ``fetch_page(start_key)``."""
        start_key: dict[str, AttributeValue] | None = None
        while True:
            page = fetch_page(start_key)
            yield from page.items
            if not page.last_evaluated_key:
                return
            start_key = page.last_evaluated_key

    # -- batches -------------------------------------------------------------------------------
    def batch_write(
        self, puts: Sequence[Item] = (), deletes: Sequence[dict[str, AttributeValue]] = ()
    ) -> BatchWriteResult:
        """Write any number of items in chunks of 25, up to ``batch_concurrency`` chunks at once.

        Each chunk re-sends its unprocessed items with backoff; items still unprocessed after
        ``max_attempts`` are listed in ``failed`` (key and reason): never dropped silently. When a
        chunk's call fails past botocore's retries (RetryableError), no further chunk is started:
        that chunk's unwritten items and every chunk not yet started are reported failed, while
        chunks already in flight finish and count. Any other error is raised once in-flight chunks
        have finished. Order: none across chunks (they run concurrently); within a chunk,
        DynamoDB's (a batch has no order). ``failed`` lists items chunk by chunk in input order.
        """
        requests: list[dict[str, Any]] = []
        seen: set[tuple[Any, ...]] = set()
        for item in puts:
            check_item_size(item, what=f"item for {self.table_name}")
            requests.append({"PutRequest": {"Item": item}})
            seen.add(self._key_identity(item))
        for key in deletes:
            requests.append({"DeleteRequest": {"Key": key}})
            seen.add(self._key_identity(key))
        if len(seen) != len(requests):
            raise ValidationError("a batch must not contain the same key twice", field="items")
        chunks = [requests[i : i + BATCH_WRITE_LIMIT] for i in range(0, len(requests), BATCH_WRITE_LIMIT)]
        run = _BatchRun()
        outcomes = self._each_chunk(lambda chunk: self._write_chunk(chunk, run), chunks)
        if run.error is not None:
            raise run.error
        result = BatchWriteResult()
        for outcome in outcomes:  # aggregated here, in input order, by one thread
            result.written += outcome.written
            reason = outcome.reason if outcome.reason is not None else run.abort_reason()
            self._record_failed(result, outcome.unwritten, reason)
        return result

    def _each_chunk(self, work: Callable[[list[Any]], T], chunks: Sequence[list[Any]]) -> list[T]:
        """``work`` of every chunk, results in chunk order: inline for one worker, else on a pool."""
        workers = self.batch_workers(len(chunks))
        if workers <= 1:
            return [work(chunk) for chunk in chunks]
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="registry-batch") as pool:
            return list(pool.map(work, chunks))

    def batch_workers(self, chunks: int) -> int:
        """How many chunks run at once: ``batch_concurrency``, at most one per chunk and per
        pooled connection of the client (a smaller pool of a client handed in caps it)."""
        pool = getattr(getattr(getattr(self.client, "meta", None), "config", None), "max_pool_connections", None)
        limit = pool if isinstance(pool, int) and pool > 0 else self.config.batch_concurrency
        return max(1, min(self.config.batch_concurrency, chunks, limit))

    def _write_chunk(self, pending: list[dict[str, Any]], run: _BatchRun) -> _ChunkOutcome:
        """Write one chunk (re-sending its unprocessed items); never raises."""
        if run.stopped.is_set():
            return _ChunkOutcome(written=0, unwritten=pending, reason=None)  # not started
        written = 0
        try:
            for attempt in range(self.backoff.max_attempts):
                response = self.call("batch_write_item", RequestItems={self.table_name: pending})
                unprocessed = response.get("UnprocessedItems", {}).get(self.table_name, [])
                written += len(pending) - len(unprocessed)
                pending = unprocessed
                if not pending:
                    break
                if attempt + 1 < self.backoff.max_attempts:
                    self.backoff.wait(attempt)
        except RetryableError as exc:
            run.stop(f"not written: {exc.message}")
            return _ChunkOutcome(written=written, unwritten=pending, reason=f"not written: {exc.message}")
        except Exception as exc:  # raised by batch_write once the in-flight chunks are done
            run.stop("not written: the batch stopped on an error", error=exc)
            return _ChunkOutcome(written=written, unwritten=pending, reason="not written")
        return _ChunkOutcome(written=written, unwritten=pending, reason="unprocessed after retries")

    def _record_failed(self, result: BatchWriteResult, requests: Sequence[dict[str, Any]], reason: str) -> None:
        for request in requests:
            body = request.get("PutRequest", {}).get("Item") or request.get("DeleteRequest", {}).get("Key")
            key = {k: body[k] for k in self.metadata.key_names}
            result.failed.append({"key": self._plain_key(key), "reason": reason})

    def batch_get(
        self,
        keys: Sequence[dict[str, AttributeValue]],
        *,
        consistent: bool = False,
        projection: Sequence[str] | None = None,
    ) -> list[Item]:
        """Fetch any number of items in chunks of 100, up to ``batch_concurrency`` chunks at once,
        re-requesting unprocessed keys with backoff. Items come back in no particular order; the
        first error stops new chunks and is raised once the chunks in flight are done."""
        chunks = [list(keys[i : i + BATCH_GET_LIMIT]) for i in range(0, len(keys), BATCH_GET_LIMIT)]
        run = _BatchRun()

        def fetch(chunk: list[dict[str, AttributeValue]]) -> list[Item]:
            if run.stopped.is_set():
                return []
            try:
                return self._get_chunk(chunk, consistent, projection)
            except Exception as exc:
                run.stop("stopped", error=exc)
                return []

        parts = self._each_chunk(fetch, chunks)
        if run.error is not None:
            raise run.error
        return [item for part in parts for item in part]

    def _get_chunk(
        self, pending: list[dict[str, AttributeValue]], consistent: bool, projection: Sequence[str] | None
    ) -> list[Item]:
        found: list[Item] = []
        for attempt in range(self.backoff.max_attempts):
            expr = _Expressions()
            request: dict[str, Any] = {"Keys": pending, "ConsistentRead": consistent}
            if projection:
                request["ProjectionExpression"] = expr.projection(projection)
                request["ExpressionAttributeNames"] = expr.names
            response = self.call("batch_get_item", RequestItems={self.table_name: request})
            found.extend(response.get("Responses", {}).get(self.table_name, []))
            pending = response.get("UnprocessedKeys", {}).get(self.table_name, {}).get("Keys", [])
            if not pending:
                return found
            if attempt + 1 < self.backoff.max_attempts:
                self.backoff.wait(attempt)
        raise RetryableError(
            f"{len(pending)} keys stayed unprocessed after {self.backoff.max_attempts} attempts",
            operation="batch_get_item",
            table=self.table_name,
        )

    def _key_identity(self, item: Mapping[str, AttributeValue]) -> tuple[Any, ...]:
        return tuple(repr(item.get(k)) for k in self.metadata.key_names)


# -- table administration ----------------------------------------------------------------------
def describe_table_status(client: DynamoDBClient, table_name: str, config: DynamoDBConfig) -> str | None:
    """The table's status (``ACTIVE``, ``CREATING``...) or None when it does not exist."""
    gateway = TableGateway(client, table_name, _ADMIN_METADATA, config)
    try:
        response = gateway.call("describe_table", TableName=table_name)
    except TableNotFoundError:
        return None
    return str(response["Table"]["TableStatus"])


def create_table(client: DynamoDBClient, definition: dict[str, Any], config: DynamoDBConfig) -> bool:
    """Create a table from a CreateTable definition; False (and no change) if it already exists."""
    name = definition["TableName"]
    gateway = TableGateway(client, name, _ADMIN_METADATA, config)
    try:
        gateway.call("create_table", **definition)
    except RegistryError as exc:
        if isinstance(exc, ValidationError | AccessDeniedError):
            raise
        if "ResourceInUseException" in exc.message or "already exists" in exc.message:
            return False
        raise
    return True


def enable_ttl(client: DynamoDBClient, table_name: str, attribute: str, config: DynamoDBConfig) -> None:
    """Turn on DynamoDB TTL on ``attribute`` (idempotent)."""
    gateway = TableGateway(client, table_name, _ADMIN_METADATA, config)
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
    client: DynamoDBClient, table_names: Sequence[str], config: DynamoDBConfig, *, timeout: float = 300.0
) -> None:
    """Poll until every table (and its indexes) is ACTIVE, or raise RetryableError at ``timeout``."""
    deadline = time.monotonic() + timeout
    pending = list(table_names)
    while pending:
        gateway = TableGateway(client, pending[0], _ADMIN_METADATA, config)
        table = gateway.call("describe_table", TableName=pending[0])["Table"]
        indexes_ready = all(i.get("IndexStatus") == "ACTIVE" for i in table.get("GlobalSecondaryIndexes", []))
        if table["TableStatus"] == "ACTIVE" and indexes_ready:
            pending.pop(0)
            continue
        if time.monotonic() > deadline:
            raise RetryableError(f"table {pending[0]} is not ACTIVE after {timeout:.0f}s", table=pending[0])
        time.sleep(1.0)


class _AdminModel(RegistryModel):
    class Meta:
        table = "pipeline_config"
        partition_key = "name"

    name: str = ""


_ADMIN_METADATA = extract_model_metadata(_AdminModel)


def create_table_gateway(
    config: DynamoDBConfig,
    table: LogicalTable | type[RegistryModel],
    client: DynamoDBClient | None = None,
) -> TableGateway:
    """A gateway for a logical table (``"pipeline_config"``...) or a model class."""
    from .schema import model_for_table

    model = model_for_table(table) if isinstance(table, str) else table
    metadata = extract_model_metadata(model)
    return TableGateway(client or create_dynamodb_client(config), config.table_name(metadata.table), metadata, config)

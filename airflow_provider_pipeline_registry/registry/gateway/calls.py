"""The single call site of a table's DynamoDB calls, and the mapping of what botocore answers.

:meth:`TableCallSite.call` makes ONE client call per operation (botocore retries transport faults
inside it) and maps what outlived those attempts to the registry's own errors: a failed condition
to ConflictError (with the stored item), throttling and 5xx to RetryableError, a missing table,
refused credentials, a rejected request, an unreachable endpoint or a foreign answer to their own
types. The AWS error code, the request id and botocore's ClientError (its text redacted) stay on
the RegistryError.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    HTTPClientError,
    NoCredentialsError,
)
from botocore.exceptions import ConnectionError as BotocoreConnectionError

from ..attributes import AttributeValue, decode_item
from ..config import DynamoDBConfig
from ..errors import (
    AccessDeniedError,
    ConflictError,
    CorruptItemError,
    EndpointNotDynamoDBError,
    RegistryConnectionError,
    RegistryError,
    RegistryValidationError,
    RetryableError,
    TableNotFoundError,
    describe_foreign_answer,
    redact,
)
from ..model import ModelMetadata
from .client import _ATTEMPTS, Backoff, DynamoDBClient, _count_attempts, _ForeignAnswer

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


def _redacted(exc: ClientError) -> ClientError:
    """``exc`` with its text redacted, to chain as a RegistryError's ``__cause__``: a traceback
    shows it, and DynamoDB's message is not ours to trust (the same redaction as the message)."""
    exc.args = tuple(redact(arg) if isinstance(arg, str) else arg for arg in exc.args)
    return exc


class TableCallSite:
    """One table's client, configuration and single call site (``call``), and the error mapping."""

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
            return RegistryValidationError(f"DynamoDB rejected the request: {message}", **context)
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

"""The registry's own exceptions.

Every error carries context (operation, table, key) so that a log line says what failed, and
never credentials: messages that come from botocore are passed through :func:`redact` first.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from .redaction import redact_text


def redact(text: str) -> str:
    """Mask anything in ``text`` that must not be shown: AWS credentials, URL userinfo and
    sensitive ``name=value`` pairs (the one redaction of the package: :mod:`.redaction`)."""
    return redact_text(text)


class RegistryError(Exception):
    """Base class of every error raised by the registry.

    An error mapped from a DynamoDB answer keeps what AWS support asks for: ``aws_error_code``
    (``ConditionalCheckFailedException``, ``AccessDeniedException``...) and ``aws_request_id``
    (the answer's ``x-amzn-RequestId``), None for errors that no DynamoDB answer caused; and the
    botocore ``ClientError`` as ``__cause__`` (its text redacted: no credentials).
    """

    #: the error code DynamoDB answered with; None when no DynamoDB answer caused the error
    aws_error_code: str | None = None
    #: the request id of that answer (``ResponseMetadata.RequestId``), for AWS support
    aws_request_id: str | None = None

    def __init__(
        self,
        message: str,
        *,
        operation: str | None = None,
        table: str | None = None,
        key: Mapping[str, Any] | None = None,
        aws_error_code: str | None = None,
        aws_request_id: str | None = None,
    ) -> None:
        self.message = redact(message)
        self.operation = operation
        self.table = table
        self.key = dict(key) if key else None
        self.aws_error_code = aws_error_code
        self.aws_request_id = aws_request_id
        super().__init__(self._render())

    def _render(self) -> str:
        context = []
        if self.operation:
            context.append(f"operation={self.operation}")
        if self.table:
            context.append(f"table={self.table}")
        if self.key:
            context.append("key=" + ", ".join(f"{k}={v!r}" for k, v in self.key.items()))
        return f"{self.message} [{'; '.join(context)}]" if context else self.message


def aws_provenance(exc: RegistryError) -> dict[str, str | None]:
    """``exc``'s AWS error code and request id, as keyword arguments for the RegistryError that
    re-explains it (raise that one ``from exc.__cause__`` to keep botocore's error as the cause)."""
    return {"aws_error_code": exc.aws_error_code, "aws_request_id": exc.aws_request_id}


class RegistryValidationError(RegistryError, ValueError):
    """Bad input, detected before anything is sent to DynamoDB.

    ``errors`` lists every problem as ``{"field": ..., "message": ..., "value": ...}``.
    """

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        **context: Any,
    ) -> None:
        self.field = field
        self.errors = errors or ([{"field": field, "message": message}] if field else [])
        super().__init__(message, **context)

    @classmethod
    def from_pydantic(cls, exc: Any, *, model: str) -> RegistryValidationError:
        """Build from a ``pydantic.ValidationError``, naming each field and its problem."""
        problems: list[dict[str, Any]] = []
        for err in exc.errors(include_url=False, include_context=False, include_input=False):
            field = ".".join(str(part) for part in err["loc"]) or "<root>"
            problems.append({"field": field, "message": err["msg"]})
        summary = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
        first = problems[0]["field"] if problems else None
        return cls(f"invalid {model}: {summary}", field=first, errors=problems)


#: the former name (it shadowed ``pydantic.ValidationError``); the same class, so
#: ``except ValidationError`` still catches every ``RegistryValidationError``
ValidationError = RegistryValidationError


class CorruptItemError(RegistryValidationError):
    """A stored item does not validate as its model (e.g. an item holding only its keys, which a
    plain ``UpdateItem ... REMOVE`` on a missing key creates). Names the table, the key and the
    fields; ``.errors`` lists every problem."""


class ConfigurationError(RegistryError, ValueError):
    """A registry setting is malformed (unknown timezone, bad prefix, bad retry value...)."""


class EndpointNotDynamoDBError(ConfigurationError):
    """The endpoint answered, but not as DynamoDB does (an HTML page, an empty 404, a 200 that is
    not JSON...): usually a wrong ``endpoint_url`` or a proxy in between. One line naming the
    endpoint and what answered (see :func:`describe_foreign_answer`); not retried."""

    def __init__(self, message: str, *, endpoint: str | None = None, status: int | None = None, **context: Any):
        self.endpoint = endpoint
        self.status = status
        super().__init__(message, **context)


#: the longest excerpt of a foreign answer's body shown in an error
FOREIGN_BODY_EXCERPT = 80
_TITLE = re.compile(r"<title[^>]*>(.*?)</title\s*>", re.IGNORECASE | re.DOTALL)
_NOT_SHOWN = re.compile(r"<(script|style)\b.*?</\1\s*>|<!--.*?-->|<[^>]*>", re.IGNORECASE | re.DOTALL)


def describe_foreign_answer(endpoint: str, status: int, content_type: str | None, body: bytes) -> str:
    """``the endpoint URL did not answer as DynamoDB: HTTP 404 Not Found (text/html: <title or text>)``.

    One line whatever the body: an HTML page is shown by its ``<title>`` (else its text without
    tags), whitespace is collapsed and the excerpt is cut to :data:`FOREIGN_BODY_EXCERPT` characters.
    """
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = ""
    kind = (content_type or "").split(";")[0].strip() or "no content type"
    text = body.decode("utf-8", "replace")
    title = _TITLE.search(text)
    if title is not None:
        text = title.group(1)
    elif "<" in text and ">" in text:
        text = _NOT_SHOWN.sub(" ", text)
    text = " ".join(html.unescape(text).split())
    if len(text) > FOREIGN_BODY_EXCERPT:
        text = text[: FOREIGN_BODY_EXCERPT - 3].rstrip() + "..."
    shown = f"{kind}: {text}" if text else f"{kind}, empty body"
    answer = f"HTTP {status} {reason}".rstrip()
    return redact(f"the endpoint {endpoint} did not answer as DynamoDB: {answer} ({shown})")


class ItemNotFoundError(RegistryError, LookupError):
    """The item asked for does not exist."""


class UnknownPipelineError(ItemNotFoundError):
    """A pipeline id that is not in the registry: no config and no run recorded under it (a typo,
    or the wrong table prefix). ``close_matches`` holds the registry's closest pipeline ids."""

    def __init__(self, pipeline_id: str, *, close_matches: list[str] | None = None, **context: Any) -> None:
        self.pipeline_id = pipeline_id
        self.close_matches = list(close_matches or [])
        hint = (
            "; closest ids: " + ", ".join(repr(m) for m in self.close_matches)
            if self.close_matches
            else "; no pipeline id is close to it"
        )
        super().__init__(f"pipeline {pipeline_id!r} does not exist (no config, no runs){hint}", **context)


class TableNotFoundError(RegistryError):
    """A registry table does not exist (create it with ``create_tables(config)``)."""


class ConflictError(RegistryError):
    """A conditional write was refused: the item exists, the version is stale, or the state
    transition is not allowed. ``current`` holds the stored item when DynamoDB returned it."""

    def __init__(self, message: str, *, current: Mapping[str, Any] | None = None, **context: Any) -> None:
        self.current = dict(current) if current is not None else None
        super().__init__(message, **context)


class AttemptSupersededError(ConflictError):
    """A write of an attempt that is no longer the run's current one (a zombie writer): refused.

    ``current`` holds the stored run (with the newer ``attempt_id``) when DynamoDB returned it."""


class AttemptConflictError(ConflictError):
    """A run logger may not join the run: it is RUNNING in another live attempt (or that
    attempt's newer try already ended it). Raised before the job's work starts."""


class PipelineRunningError(ConflictError):
    """A pipeline config may not be deleted: it has RUNNING runs (``running``: pipeline id -> the
    ids of its RUNNING runs). Raised before anything is deleted; forcing the delete skips the check."""

    def __init__(self, running: Mapping[str, list[str]], **context: Any) -> None:
        self.running = {pid: list(runs) for pid, runs in running.items()}
        parts = [
            f"pipeline {pid!r} has {len(runs)} RUNNING run(s): {', '.join(map(repr, runs))}"
            for pid, runs in self.running.items()
        ]
        super().__init__("refusing to delete: " + "; ".join(parts), **context)


class TableAttachedError(ConflictError):
    """A table config may not be deleted on its own: the pipeline it belongs to exists (its job
    reads or writes the table). Forcing the delete skips the check."""

    def __init__(self, table_id: str, pipeline_id: str, **context: Any) -> None:
        self.table_id = table_id
        self.pipeline_id = pipeline_id
        super().__init__(
            f"refusing to delete table {table_id!r}: it belongs to pipeline {pipeline_id!r}, which exists",
            **context,
        )


class WatermarkConflictError(ConflictError):
    """A SUCCESS end could not commit a table's watermark: since the run read its low bound,
    another run (``moved_by_run_id``) or a rewind (``rewound_by``) moved it. Nothing was
    committed; the run is recorded FAILED with this error (see the README, "Incremental loads")."""

    def __init__(
        self,
        message: str,
        *,
        table_id: str,
        read_value: str | None = None,
        current_value: str | None = None,
        moved_by_run_id: str | None = None,
        rewound_by: str | None = None,
        **context: Any,
    ) -> None:
        self.table_id = table_id
        self.read_value = read_value
        self.current_value = current_value
        self.moved_by_run_id = moved_by_run_id
        self.rewound_by = rewound_by
        super().__init__(message, **context)


class WatermarkBackwardsError(RegistryValidationError):
    """An advance below the low bound the run read (only a rewind moves a watermark back)."""


class RetryableError(RegistryError):
    """Throttling or a transient fault that outlived the configured retries."""


class RegistryConnectionError(RetryableError):
    """The DynamoDB endpoint could not be reached within the configured timeouts and retries."""


class AccessDeniedError(RegistryError, PermissionError):
    """DynamoDB refused the credentials or the permission for the call."""

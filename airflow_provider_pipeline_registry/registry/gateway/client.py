"""The DynamoDB client and its retry configuration.

A registry client has bounded connect/read timeouts, a connection pool sized for the parallel
batch chunks, and botocore's ``standard`` or ``adaptive`` retry mode (``max_attempts`` in all:
transport retries are botocore's). Two event hooks go on every client a gateway uses: one counts
the HTTP attempts of the current call (for the error messages), one refuses an answer DynamoDB
never gives (something else is at the endpoint). :class:`Backoff` paces the only retries the
gateway makes itself: re-sending the unprocessed items and keys of a successful batch call.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config as BotocoreConfig

from ..config import DynamoDBConfig

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient as DynamoDBClient
else:
    DynamoDBClient = Any

#: the connection pool of a registry client (raised to ``batch_concurrency`` when that is larger)
DEFAULT_POOL_CONNECTIONS = 32
#: botocore's own default ``max_pool_connections``
BOTOCORE_DEFAULT_POOL = 10
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

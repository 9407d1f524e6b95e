"""Fault injection on a real botocore client through its event system (no stubbing).

``FaultInjector(client, rate=0.3, seed=...)`` makes a seeded random share of the client's calls
fail the way DynamoDB and the network fail:

* ``throttle``: HTTP 400 ``ThrottlingException`` / ``ProvisionedThroughputExceededException``
  (DynamoDB did not apply the request);
* ``server_error``: HTTP 500 ``InternalServerError`` (not applied);
* ``reset``: the connection is closed before the request is sent (``ConnectionClosedError``);
* ``lost_response``: the request IS applied by DynamoDB Local, then the response is lost
  (``ReadTimeoutError``), so the retry replays an already applied write;

and, not in ``ALL_KINDS`` (pass them in ``kinds``), what a proxy or VPC endpoint in front of
DynamoDB answers (not applied):

* ``proxy_502`` / ``proxy_504``: an HTML 502/504 page without any DynamoDB error code;
* ``too_many_requests``: HTTP 429 with an empty body.

and ``replicated_write_conflict``: HTTP 409 ``ReplicatedWriteConflictException``, a global table's
write that raced one in another Region (not applied).

Sustained throttling for N calls: ``rate=1.0, kinds=("throttle",), max_faults=N``.
``omit_old_item=True`` drops ``ReturnValuesOnConditionCheckFailure`` from every request, so a
failed condition comes back without the stored item (as from dynalite).

and, independently, a share of ``BatchWriteItem`` calls is only partly processed: some of the
items are removed from the request before it is sent (so DynamoDB Local never writes them) and
handed back in ``UnprocessedItems``, exactly as DynamoDB does under load.

Every HTTP attempt is counted per operation in ``before-send`` (botocore's retry handler makes the
retries inside the client call, and each attempt passes through that hook), so tests can assert
attempt counts.
"""

from __future__ import annotations

import json
import random
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.exceptions import ConnectionClosedError, ReadTimeoutError
from botocore.httpsession import URLLib3Session

ALL_KINDS: tuple[str, ...] = ("throttle", "server_error", "reset", "lost_response")
PROXY_KINDS: tuple[str, ...] = ("proxy_502", "proxy_504", "too_many_requests")
KNOWN_KINDS: tuple[str, ...] = ALL_KINDS + PROXY_KINDS + ("replicated_write_conflict",)
PROXY_502_BODY = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n"
)
PROXY_504_BODY = b"<html><body><h1>504 Gateway Time-out</h1>\nThe server didn't respond in time.\n</body></html>\n"
_PREFIX = "com.amazonaws.dynamodb.v20120810#"


class _Body:
    """The ``raw`` of an ``AWSResponse``: botocore reads it through ``stream()``."""

    def __init__(self, payload: bytes) -> None:
        self.payload = payload

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.payload


def raw_response(url: str, status: int, body: bytes, content_type: str) -> AWSResponse:
    """An HTTP answer that is not DynamoDB's (no error code): a proxy page, an empty 429."""
    headers = {"Content-Type": content_type, "Content-Length": str(len(body))}
    return AWSResponse(url, status, headers, _Body(body))


def error_response(url: str, status: int, code: str, message: str) -> AWSResponse:
    body = json.dumps({"__type": _PREFIX + code, "message": message}).encode()
    headers = {
        "Content-Type": "application/x-amz-json-1.0",
        "x-amzn-RequestId": "INJECTED",
        "Content-Length": str(len(body)),
    }
    return AWSResponse(url, status, headers, _Body(body))


class FaultInjector:
    """Inject faults into ``rate`` of the calls of ``client`` (only ``operations``, if given;
    at most ``max_faults`` in all, if given)."""

    def __init__(
        self,
        client: Any,
        *,
        rate: float,
        seed: int,
        kinds: Sequence[str] = ALL_KINDS,
        operations: Sequence[str] | None = None,
        unprocessed_rate: float = 0.0,
        max_faults: int | None = None,
        omit_old_item: bool = False,
    ) -> None:
        unknown = set(kinds) - set(KNOWN_KINDS)
        assert not unknown, f"unknown fault kinds {unknown}"
        self.client = client
        self.rate = rate
        self.kinds = tuple(kinds)
        self.operations = set(operations) if operations is not None else None
        self.unprocessed_rate = unprocessed_rate
        self.max_faults = max_faults
        self.enabled = True
        self.calls: Counter[str] = Counter()  # every HTTP attempt, per operation
        self.api_calls: Counter[str] = Counter()  # every client call (botocore retries inside one)
        self.faults: Counter[str] = Counter()  # injected faults, per kind
        self.unprocessed_items = 0  # items handed back in UnprocessedItems
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._http = URLLib3Session()
        events = client.meta.events
        events.register("before-send.dynamodb.*", self._before_send, unique_id="reliability-faults-send")
        events.register("before-call.dynamodb", self._count_call, unique_id="reliability-faults-call")
        events.register(
            "before-parameter-build.dynamodb.BatchWriteItem",
            self._withhold_items,
            unique_id="reliability-faults-withhold",
        )
        events.register(
            "after-call.dynamodb.BatchWriteItem", self._report_unprocessed, unique_id="reliability-faults-report"
        )
        self.omit_old_item = omit_old_item
        if omit_old_item:
            events.register(
                "before-parameter-build.dynamodb", self._drop_old_item_request, unique_id="reliability-faults-no-old"
            )

    def remove(self) -> None:
        """Unregister every handler (the client is clean again)."""
        events = self.client.meta.events
        events.unregister("before-send.dynamodb.*", unique_id="reliability-faults-send")
        events.unregister("before-call.dynamodb", unique_id="reliability-faults-call")
        events.unregister("before-parameter-build.dynamodb.BatchWriteItem", unique_id="reliability-faults-withhold")
        events.unregister("after-call.dynamodb.BatchWriteItem", unique_id="reliability-faults-report")
        events.unregister("before-parameter-build.dynamodb", unique_id="reliability-faults-no-old")

    @staticmethod
    def _drop_old_item_request(params: dict[str, Any], **_: Any) -> None:
        params.pop("ReturnValuesOnConditionCheckFailure", None)

    def _roll(self) -> float:
        with self._lock:
            return self._random.random()

    def _pick(self) -> str:
        with self._lock:
            return self._random.choice(self.kinds)

    @staticmethod
    def _operation(request: Any) -> str:
        target = request.headers.get("X-Amz-Target", b"")
        target = target.decode() if isinstance(target, bytes) else str(target)
        return target.rsplit(".", 1)[-1]

    def _count_call(self, model: Any, **_: Any) -> None:
        with self._lock:
            self.api_calls[model.name] += 1

    # -- whole-call faults ------------------------------------------------------------------------
    def _before_send(self, request: Any, **_: Any) -> AWSResponse | None:
        operation = self._operation(request)
        with self._lock:
            self.calls[operation] += 1
        if not self.enabled or (self.operations is not None and operation not in self.operations):
            return None
        if self._roll() >= self.rate:
            return None
        kind = self._pick()
        with self._lock:
            if self.max_faults is not None and sum(self.faults.values()) >= self.max_faults:
                return None
            self.faults[kind] += 1
        if kind == "throttle":
            code = "ThrottlingException" if self._roll() < 0.5 else "ProvisionedThroughputExceededException"
            return error_response(request.url, 400, code, "Rate of requests exceeds the allowed throughput.")
        if kind == "server_error":
            return error_response(request.url, 500, "InternalServerError", "Internal server error")
        if kind == "replicated_write_conflict":
            message = "One or more items in this request are being modified by a request in another Region."
            return error_response(request.url, 409, "ReplicatedWriteConflictException", message)
        if kind == "proxy_502":
            return raw_response(request.url, 502, PROXY_502_BODY, "text/html")
        if kind == "proxy_504":
            return raw_response(request.url, 504, PROXY_504_BODY, "text/html")
        if kind == "too_many_requests":
            return raw_response(request.url, 429, b"", "text/plain")
        if kind == "reset":
            raise ConnectionClosedError(endpoint_url=request.url)
        # lost_response: DynamoDB Local applies the request, the caller never hears back
        self._http.send(request)
        raise ReadTimeoutError(endpoint_url=request.url)

    # -- partial batches --------------------------------------------------------------------------
    def _withhold_items(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        if not self.enabled or self.unprocessed_rate <= 0 or self._roll() >= self.unprocessed_rate:
            return
        kept_tables: dict[str, list[Any]] = {}
        withheld: dict[str, list[Any]] = {}
        for table, requests in params["RequestItems"].items():
            # keep at least one item so the request stays valid; withhold a random share
            cut = 1 + int(self._roll() * (len(requests) - 1)) if len(requests) > 1 else len(requests)
            kept_tables[table] = list(requests[:cut])
            if requests[cut:]:
                withheld[table] = list(requests[cut:])
        if withheld:
            # a new dict: the gateway's own lists are never touched
            params["RequestItems"] = kept_tables
            context["reliability_withheld"] = withheld

    def _report_unprocessed(self, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        withheld = context.pop("reliability_withheld", None)
        if not withheld or "Error" in parsed:
            return
        unprocessed = parsed.setdefault("UnprocessedItems", {})
        for table, requests in withheld.items():
            unprocessed.setdefault(table, []).extend(requests)
            with self._lock:
                self.unprocessed_items += len(requests)

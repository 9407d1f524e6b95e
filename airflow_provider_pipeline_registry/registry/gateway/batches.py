"""Batch reads and writes: BatchWriteItem in chunks of 25 and BatchGetItem in chunks of 100, up to
``batch_concurrency`` chunks at once on the one client, each chunk re-sending its unprocessed
items or keys with backoff; what stays unwritten is reported, never dropped silently."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ..attributes import AttributeValue, Item, check_item_size
from ..errors import RegistryValidationError, RetryableError
from .calls import TableCallSite
from .expressions import _Expressions

T = TypeVar("T")

BATCH_WRITE_LIMIT = 25
BATCH_GET_LIMIT = 100


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


@dataclass
class BatchWriteResult:
    """What a batch write did: how many items were written, and which (if any) could not be."""

    written: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)


class BatchOperations(TableCallSite):
    """The batch operations of a table gateway."""

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
            raise RegistryValidationError("a batch must not contain the same key twice", field="items")
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

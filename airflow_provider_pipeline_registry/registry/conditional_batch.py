"""Conditional batch writes: puts conditioned on what was read, replay-safe beside other writers.

The one routine behind both ``batch_upsert``\\ s (the config tables' and the run logs'). Each item
is planned as a put over the stored item the batch read (``plan``: the item, and a condition
that the stored one is still what was read, or absent), and every put records the batch's token
in the item's bounded token history (:mod:`.write_tokens`). The puts are sent in
``TransactWriteItems`` of :data:`TRANSACT_CHUNK` (and at most ``TRANSACT_BYTES``), up to
``batch_concurrency`` chunks at once. A transaction cancelled by a failed condition is looked at:

* a refused item (or the transaction's returned items) holds our token: the transaction WAS
  applied (its response was lost and botocore sent it again, maybe after another writer wrote):
  every item of it is ``written``, nothing is applied twice;
* else the refused items were written by another writer since the batch read them: with
  ``resend_changed`` they are read again and planned anew (the config tables: the next version);
  without, they are ``failed`` with ``changed_reason`` and the rest of the chunk is sent again
  (the run logs: a bulk import never overwrites a run's newer state unseen).

Where the implementation has no transactions (dynalite), each item is one conditional PutItem
instead, with the same rules. After a RetryableError no further chunk starts: its items and every
chunk not started are ``failed`` with that reason; any other error is raised once the chunks in
flight are done.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from .attributes import AttributeValue, Item, decode_value, item_size
from .conditions import Condition
from .errors import ConflictError, RegistryValidationError, RetryableError
from .gateway import TRANSACT_BYTES, TableGateway
from .write_tokens import WRITE_TOKENS, applied

K = TypeVar("K", bound=Hashable)

#: puts per TransactWriteItems of a batch (DynamoDB takes up to TRANSACT_LIMIT): as many as a
#: BatchWriteItem chunk, so a batch makes as many calls, as parallel, as a BatchWriteItem batch; a
#: conflict cancels (and re-sends) fewer items
TRANSACT_CHUNK = 25
#: rounds of one chunk (re-reads after other writers' writes, conflicting transactions) before
#: its remaining items are reported failed
BATCH_ROUNDS = 5

#: what happened to one item: ("written" | "unchanged" | "failed", the reason of a failure)
Outcome = tuple[str, str | None]


def history_of_raw(raw: Mapping[str, AttributeValue] | None) -> dict[str, Any]:
    """The token map of a low-level stored item, as decoded values ``{WRITE_TOKENS: {...}}``."""
    value = (raw or {}).get(WRITE_TOKENS)
    decoded = decode_value(value) if isinstance(value, Mapping) else None
    return {WRITE_TOKENS: decoded} if isinstance(decoded, Mapping) else {}


@dataclass
class ConditionalBatch(Generic[K]):
    """One batch: how to plan, read and name its items.

    ``plan(id, raw)``: the put over the stored ``raw`` (None: unchanged, nothing to write);
    ``key(id)``: the item's key; ``id_of(raw)``: the id of a stored item; ``changed_reason(id,
    raw)``: why an item written since the read is not written (``resend_changed=False``)."""

    gateway: TableGateway
    token: str
    plan: Callable[[K, Item | None], tuple[Item, Condition] | None]
    key: Callable[[K], dict[str, Any]]
    id_of: Callable[[Mapping[str, AttributeValue]], K]
    resend_changed: bool
    changed_reason: Callable[[K, Item | None], str] | None = None

    def write(self, ids: Sequence[K], stored: Mapping[K, Item]) -> dict[K, Outcome]:
        """Write every item (``stored``: what the batch read, by id); each id's outcome."""
        stop = threading.Event()
        stopped_by: list[str] = []
        errors: list[BaseException] = []
        chunks = self._chunks(ids, stored)

        def write(chunk: list[K]) -> dict[K, Outcome]:
            if stop.is_set():
                return {item_id: ("failed", None) for item_id in chunk}
            try:
                return self._write_chunk(chunk, stored)
            except RetryableError as exc:
                stopped_by.append(f"not written: {exc.message}")
                stop.set()
                return {item_id: ("failed", f"not written: {exc.message}") for item_id in chunk}
            except Exception as exc:  # raised once the chunks in flight are done
                errors.append(exc)
                stop.set()
                return {item_id: ("failed", "not written") for item_id in chunk}

        workers = self.gateway.batch_workers(len(chunks))
        if workers <= 1:
            parts = [write(chunk) for chunk in chunks]
        else:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="registry-batch") as pool:
                parts = list(pool.map(write, chunks))
        if errors:
            raise errors[0]
        outcomes = {item_id: outcome for part in parts for item_id, outcome in part.items()}
        fallback = stopped_by[0] if stopped_by else "not written"
        return {
            item_id: (outcome, reason or fallback) if outcome == "failed" else (outcome, reason)
            for item_id, (outcome, reason) in outcomes.items()
        }

    def _chunks(self, ids: Sequence[K], stored: Mapping[K, Item]) -> list[list[K]]:
        """The items in transactions of at most TRANSACT_CHUNK puts and TRANSACT_BYTES (with a
        margin for the expressions); unchanged items ride along (they are skipped when sent)."""
        chunks: list[list[K]] = [[]]
        size = 0
        for item_id in ids:
            planned = self.plan(item_id, stored.get(item_id))
            weight = item_size(planned[0]) + 512 if planned else 0
            if chunks[-1] and (len(chunks[-1]) >= TRANSACT_CHUNK or size + weight > TRANSACT_BYTES):
                chunks.append([])
                size = 0
            chunks[-1].append(item_id)
            size += weight
        return [chunk for chunk in chunks if chunk]

    def _ours(self, raws: Sequence[Mapping[str, AttributeValue] | None]) -> bool:
        return any(applied(history_of_raw(raw), self.token) is not None for raw in raws)

    def _write_chunk(self, chunk: Sequence[K], stored: Mapping[K, Item]) -> dict[K, Outcome]:
        """Write one chunk in one transaction (re-sent after other writers' writes, see above)."""
        raws = {item_id: stored.get(item_id) for item_id in chunk}
        outcomes: dict[K, Outcome] = {}
        pending = list(chunk)
        planned: list[tuple[K, Item, Condition]] = []
        for attempt in range(BATCH_ROUNDS):
            planned = []
            for item_id in pending:
                put = self.plan(item_id, raws[item_id])
                if put is None:
                    outcomes[item_id] = ("unchanged", None)
                else:
                    outcomes.pop(item_id, None)
                    planned.append((item_id, *put))
            if not planned:
                return outcomes
            result = self.gateway.transact_put([(item, condition) for _, item, condition in planned])
            if not result.supported:
                for item_id in pending:
                    outcomes[item_id] = self._put_one(item_id, raws[item_id])
                return outcomes
            if result.applied:
                outcomes.update({item_id: ("written", None) for item_id, _, _ in planned})
                return outcomes
            reasons = result.reasons
            refused = [
                item_id
                for (item_id, _, _), (code, _) in zip(planned, reasons, strict=False)
                if code == "ConditionalCheckFailed"
            ]
            if any(code == "RegistryValidationError" for code, _ in reasons):
                raise RegistryValidationError(
                    f"DynamoDB refused a transaction of {len(planned)} items of {self.gateway.table_name} "
                    "(RegistryValidationError)",
                    field="items",
                )
            if refused:
                fresh = {
                    self.id_of(item): item
                    for item in self.gateway.batch_get([self.key(i) for i in refused], consistent=True)
                }
                returned = [old for _, old in reasons if old is not None]
                if self._ours([*returned, *fresh.values()]):
                    # our transaction was applied (its response lost, botocore sent it again): all of it
                    outcomes.update({item_id: ("written", None) for item_id, _, _ in planned})
                    return outcomes
                if self.resend_changed:
                    raws.update({item_id: fresh.get(item_id) for item_id in refused})  # read again
                else:  # written by another writer since the read: not overwritten
                    for item_id in refused:
                        outcomes[item_id] = ("failed", self._changed(item_id, fresh.get(item_id)))
                    pending = [i for i in pending if i not in set(refused)]
            elif attempt + 1 < BATCH_ROUNDS:
                self.gateway.backoff.wait(attempt)  # a conflicting transaction, throttling: again
        reason = f"not written: changed by other writers during {BATCH_ROUNDS} rounds"
        outcomes.update({item_id: ("failed", reason) for item_id, _, _ in planned})
        return outcomes

    def _changed(self, item_id: K, raw: Item | None) -> str:
        if self.changed_reason is not None:
            return self.changed_reason(item_id, raw)
        return "not written: changed by another writer since the batch read it"

    def _put_one(self, item_id: K, raw: Item | None) -> Outcome:
        """One item of a batch as one conditional PutItem (implementations without transactions)."""
        for _ in range(BATCH_ROUNDS):
            put = self.plan(item_id, raw)
            if put is None:
                return "unchanged", None
            try:
                self.gateway.put_item(put[0], condition=put[1])
            except ConflictError as exc:
                if applied(exc.current, self.token) is not None:
                    return "written", None  # our put, replayed after a lost response
                raw = self.gateway.get_item(self.key(item_id), consistent=True)  # written since our read
                if self._ours([raw]):
                    return "written", None
                if not self.resend_changed:
                    return "failed", self._changed(item_id, raw)
                continue
            return "written", None
        return "failed", f"not written: changed by other writers during {BATCH_ROUNDS} rounds"

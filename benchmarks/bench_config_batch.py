"""Config ``batch_upsert``: the conditional paths (issue #21) against the old BatchWriteItem path.

BatchWriteItem takes no conditions, so a batch racing a single write could store its content at
the version the single write was told. ``TableConfigWriteApi.batch_upsert`` now writes
``TransactWriteItems`` of up to 100 puts, each conditional on the version (and incarnation) it
read; where an implementation has no transactions (dynalite) it falls back to one conditional
``PutItem`` per item. Three variants write the same table configs into fresh tables, in the same
run, interleaved:

* **old: BatchWriteItem** -- what ``batch_upsert`` did before: the same validation, consistent
  batch read, items (with their token history) built the same way, then the gateway's
  unconditional ``batch_write`` (25-item chunks, ``batch_concurrency`` at once);
* **ours: TransactWriteItems** -- ``batch_upsert`` itself;
* **ours: conditional PutItems** -- ``batch_upsert`` on a gateway that reports no transactions
  (the dynalite path): one conditional ``PutItem`` per item, ``batch_concurrency`` at once.

Two passes each: *create* (N new items) and *change* (the same N items, every one changed: each
put is conditional on the stored version). The ratios to the old path are the result; absolute
times are DynamoDB Local's on this machine.
"""

from __future__ import annotations

import itertools
import statistics
import time
from dataclasses import dataclass, field
from typing import Any

from fixtures import table_config_values
from rich.table import Table

from airflow_provider_pipeline_registry.registry import Registry
from airflow_provider_pipeline_registry.registry.gateway import TransactResult
from airflow_provider_pipeline_registry.registry.timezones import utc_now
from airflow_provider_pipeline_registry.registry.write_tokens import new_write_token

OLD = "old: BatchWriteItem (unconditional)"
TRANSACT = "ours: TransactWriteItems (conditional)"
PUTS = "ours: conditional PutItems (no transactions)"
VARIANTS = (OLD, TRANSACT, PUTS)
PASSES = ("create", "change")


@dataclass
class ConfigBatchResult:
    items: int
    concurrency: int
    seconds: dict[tuple[str, str], list[float]] = field(default_factory=dict)
    calls: dict[tuple[str, str], int] = field(default_factory=dict)


def _old_batch_upsert(registry: Registry, rows: list[dict[str, Any]]) -> None:
    """The pre-#21 path: validate, read consistently, build, then unconditional BatchWriteItem."""
    writes = registry.tables_write
    dtos = [writes._validate(row) for row in rows]
    stored = {
        item["table_id"]["S"]: item
        for item in writes.gateway.batch_get([writes._key(d.table_id) for d in dtos], consistent=True)
    }
    token, now = new_write_token(), utc_now()
    items = [planned[0] for d in dtos if (planned := writes._plan(d, stored.get(d.table_id), token, now))]
    result = writes.gateway.batch_write(items)
    assert not result.failed, result.failed[:3]


def _without_transactions(registry: Registry) -> Registry:
    """The same registry with a gateway that answers as dynalite does (no TransactWriteItems)."""
    gateway = registry.tables_write.gateway
    gateway.transact_put = lambda puts: TransactResult(applied=False, supported=False)  # type: ignore[method-assign]
    return registry


class _CallCounter:
    def __init__(self, client: Any) -> None:
        self.count = 0
        client.meta.events.register("before-send.dynamodb", self, unique_id="bench-config-batch-calls")

    def __call__(self, **_: Any) -> None:
        self.count += 1


def run(registry: Registry, *, quick: bool) -> ConfigBatchResult:
    n, repeats = (300, 1) if quick else (2_000, 3)
    result = ConfigBatchResult(items=n, concurrency=registry.config.batch_concurrency)
    serial = itertools.count()
    counter = _CallCounter(registry.client)
    for r in range(repeats + 1):  # round 0: untimed warm-up
        shift = r % len(VARIANTS)
        for variant in VARIANTS[shift:] + VARIANTS[:shift]:
            target = Registry(
                registry.config.model_copy(update={"table_prefix": f"cb{next(serial)}_"}), client=registry.client
            )
            target.create_tables()
            if variant == PUTS:
                _without_transactions(target)
            for pass_name in PASSES:
                suffix = "" if pass_name == "create" else "_v2"
                rows = [
                    {**table_config_values(i, prefix="cfg"), "location": f"s3://acme-lake/t{i}{suffix}/"}
                    for i in range(n if r else min(n, 300))
                ]
                before = counter.count
                start = time.perf_counter()
                if variant == OLD:
                    _old_batch_upsert(target, rows)
                else:
                    report = target.tables_write.batch_upsert(rows)
                    assert report.ok, report.failed[:3]
                    assert len(report.written) == len(rows)
                elapsed = time.perf_counter() - start
                if r:
                    result.seconds.setdefault((variant, pass_name), []).append(elapsed)
                    result.calls[(variant, pass_name)] = counter.count - before
            stored = target.tables.find_entity(rows[0]["table_id"], consistent=True)
            assert stored is not None
            assert (stored.version, stored.location[-4:]) == (2, "_v2/")
            for logical in ("pipeline_config", "table_config", "pipeline_run_logs"):
                registry.client.delete_table(TableName=target.config.table_name(logical))  # type: ignore[arg-type]
    registry.client.meta.events.unregister("before-send.dynamodb", unique_id="bench-config-batch-calls")
    return result


def report(result: ConfigBatchResult) -> Table:
    runs = len(result.seconds[(OLD, "create")])
    table = Table(
        title=f"Config batch_upsert of {result.items:,} table configs, batch_concurrency={result.concurrency} "
        f"(median of {runs} run(s) per pass; issue #21: versions unique per content)"
    )
    for column in ("variant", "pass", "median s", "items/s", "x old items/s", "HTTP calls"):
        table.add_column(column, justify="left" if column in ("variant", "pass") else "right")
    for variant in VARIANTS:
        for pass_name in PASSES:
            median = statistics.median(result.seconds[(variant, pass_name)])
            old = statistics.median(result.seconds[(OLD, pass_name)])
            table.add_row(
                variant if pass_name == "create" else "",
                pass_name,
                f"{median:.2f}",
                f"{result.items / median:,.0f}",
                f"{old / median:.2f}x",
                str(result.calls[(variant, pass_name)]),
            )
        table.add_section()
    return table

"""History does not slow reads: the latest run and a 20-run page of a pipeline with 1,000, 10,000
and 100,000 stored runs, and the tables of one pipeline in a table_config holding 10 or 1,000
pipelines.

Setup (untimed) writes the history with raw ``batch_write_item`` calls from 8 threads. Every
timed variant runs on the same DynamoDB Local, interleaved; each answer's ``ScannedCount`` is
recorded (through a botocore event hook) to show how many items a call read.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from botocore.config import Config as BotocoreConfig
from fixtures import run_log_values, table_config_values
from timing import Sample, interleave

from airflow_provider_pipeline_registry.registry import DynamoDBConfig, Registry
from airflow_provider_pipeline_registry.registry.run_logs.models import PIPELINE_RUNS_INDEX
from airflow_provider_pipeline_registry.registry.table_config import TableConfig
from airflow_provider_pipeline_registry.registry.table_config.models import PIPELINE_TABLES_INDEX
from airflow_provider_pipeline_registry.registry.timezones import utc_now

TARGET = 1.2
TABLES_PER_PIPELINE = 5


@dataclass
class HistoryResult:
    """Per operation: the sizes, their samples, and the items each call read (ScannedCount)."""

    operations: list[tuple[str, str, list[tuple[int, Sample, float]]]] = field(default_factory=list)
    #: the same Query sent with the raw client (same index, Limit, order), by operation label: the emulator's share
    raw: dict[str, list[Sample]] = field(default_factory=dict)
    load_seconds: float = 0.0
    stored_items: int = 0
    #: the UI pages at scale (bench_ui_scale), measured on the same loaded tables
    ui: Any = None

    @staticmethod
    def spread(rows: Sequence[tuple[int, Sample, float]]) -> float:
        """Slowest median over fastest median across the sizes."""
        medians = [sample.median for _, sample, _ in rows]
        return max(medians) / min(medians)


def _load(client: Any, table: str, items: Sequence[dict[str, Any]]) -> None:
    """BatchWriteItem in chunks of 25 from 8 threads, re-sending anything unprocessed."""

    def write(chunk: Sequence[dict[str, Any]]) -> None:
        requests: dict[str, Any] = {table: [{"PutRequest": {"Item": item}} for item in chunk]}
        while requests:
            requests = client.batch_write_item(RequestItems=requests).get("UnprocessedItems") or {}

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(write, [items[i : i + 25] for i in range(0, len(items), 25)]))


class _ScannedCounter:
    """ScannedCount of the last Query answers on one client."""

    def __init__(self, client: Any) -> None:
        self.values: list[int] = []
        client.meta.events.register("after-call.dynamodb.Query", self._after)

    def _after(self, parsed: dict[str, Any], **_: Any) -> None:
        self.values.append(int(parsed.get("ScannedCount", 0)))

    def per_call(self, fn: Callable[[], object]) -> float:
        """Items read by one call of ``fn`` (summed over its requests)."""
        self.values.clear()
        fn()
        return float(sum(self.values))


def run(base: DynamoDBConfig, *, quick: bool) -> HistoryResult:
    """Load the histories, then time latest / page of 20 / tables of a pipeline across the sizes."""

    sizes = (100, 300, 1_000) if quick else (1_000, 10_000, 100_000)
    pipeline_counts = (10, 100) if quick else (10, 1_000)
    rounds, warmup = (15, 3) if quick else (300, 30)
    loader_config = BotocoreConfig(max_pool_connections=16, retries={"mode": "standard", "total_max_attempts": 5})
    result = HistoryResult()

    runs_registry = Registry(base.model_copy(update={"table_prefix": "hist_"}))
    runs_registry.create_tables()
    import boto3

    # the same endpoint and credentials, a wider pool for the 8 loading threads
    bulk = boto3.session.Session().client(
        "dynamodb", region_name=base.region, endpoint_url=base.endpoint_url, config=loader_config
    )
    started = time.perf_counter()
    runs_table = runs_registry.config.table_name("pipeline_run_logs")
    for size in sizes:
        pid = f"history_{size}"
        items = [runs_registry.runs_write.to_item(run_log_values(i, pipeline_id=pid)) for i in range(size)]
        _load(bulk, runs_table, items)
        result.stored_items += size
    table_registries: dict[int, Registry] = {}
    bookkeeping = {"version": 1, "created_at": utc_now(), "updated_at": utc_now()}
    for count in pipeline_counts:
        registry = Registry(base.model_copy(update={"table_prefix": f"hist{count}_"}))
        registry.create_tables()
        items = [
            TableConfig.model_validate(
                {**table_config_values(t, pipeline_id=f"p{p:04d}", prefix=f"t{p:04d}"), **bookkeeping}
            ).to_dynamodb_item()
            for p in range(count)
            for t in range(TABLES_PER_PIPELINE)
        ]
        _load(bulk, registry.config.table_name("table_config"), items)
        result.stored_items += len(items)
        table_registries[count] = registry
    result.load_seconds = time.perf_counter() - started

    runs = runs_registry.runs
    run_ops: dict[str, Callable[[str], Callable[[], object]]] = {
        "runs.latest(pipeline_id)": lambda pid: lambda: runs.latest(pid),
        "runs.list_by_pipeline(limit=20)": lambda pid: lambda: runs.list_by_pipeline(pid, limit=20),
    }
    variants: dict[str, Callable[[], object]] = {}
    for label, make in run_ops.items():
        for size in sizes:
            variants[f"{label}@{size}"] = make(f"history_{size}")
    for count, registry in table_registries.items():
        middle = f"p{count // 2:04d}"
        tables = registry.tables
        variants[f"tables@{count}"] = lambda tables=tables, middle=middle: list(tables.iter_by_pipeline(middle))
    client = runs_registry.client

    def raw_query(table: str, index: str, pid: str, limit: int | None, newest_first: bool) -> Callable[[], object]:
        params: dict[str, Any] = {
            "TableName": table,
            "IndexName": index,
            "KeyConditionExpression": "#p = :p",
            "ExpressionAttributeNames": {"#p": "pipeline_id"},
            "ExpressionAttributeValues": {":p": {"S": pid}},
            "ScanIndexForward": not newest_first,
        }
        if limit is not None:
            params["Limit"] = limit
        return lambda: client.query(**params)["Items"]

    raw_limits = {"runs.latest(pipeline_id)": 1, "runs.list_by_pipeline(limit=20)": 20}
    for label, limit in raw_limits.items():
        for size in sizes:
            variants[f"raw:{label}@{size}"] = raw_query(
                runs_table, PIPELINE_RUNS_INDEX, f"history_{size}", limit, newest_first=True
            )
    for count, registry in table_registries.items():
        table = registry.config.table_name("table_config")
        variants[f"raw:tables@{count}"] = raw_query(
            table, PIPELINE_TABLES_INDEX, f"p{count // 2:04d}", None, newest_first=False
        )
    for name, fn in variants.items():  # every variant returns what it should before it is timed
        answer = fn()
        assert answer, name
    samples = interleave(variants, rounds=rounds, warmup=warmup)

    counters = {id(r.client): _ScannedCounter(r.client) for r in (runs_registry, *table_registries.values())}
    runs_counter = counters[id(runs_registry.client)]
    for label in run_ops:
        rows = [
            (size, samples[f"{label}@{size}"], runs_counter.per_call(variants[f"{label}@{size}"])) for size in sizes
        ]
        result.operations.append((label, "runs", rows))
        result.raw[label] = [samples[f"raw:{label}@{size}"] for size in sizes]
    table_rows = [
        (
            count,
            samples[f"tables@{count}"],
            counters[id(registry.client)].per_call(variants[f"tables@{count}"]),
        )
        for count, registry in table_registries.items()
    ]
    result.operations.append(("tables.iter_by_pipeline", "pipelines", table_rows))
    result.raw["tables.iter_by_pipeline"] = [samples[f"raw:tables@{count}"] for count in pipeline_counts]
    import bench_ui_scale

    result.ui = bench_ui_scale.run(
        base,
        runs_registry,
        _load,
        bulk,
        sizes=(sizes[0], sizes[-1]),
        pipeline_counts=(pipeline_counts[-1], 10 * pipeline_counts[-1]),
        quick=quick,
    )
    for registry in (runs_registry, *table_registries.values()):
        for logical in ("pipeline_config", "table_config", "pipeline_run_logs"):
            registry.client.delete_table(TableName=registry.config.table_name(logical))  # type: ignore[arg-type]
    return result


def medians_ms(rows: Sequence[tuple[int, Sample, float]]) -> list[float]:
    """Median milliseconds per size (for reports)."""
    return [statistics.median(sample.values) * 1e3 for _, sample, _ in rows]


def report(result: HistoryResult) -> Any:
    """The section's rich table: median per size, items read per call, spread and verdict."""
    from rich.table import Table

    table = Table(
        title=f"History does not slow reads (median ms per call; {result.stored_items:,} items loaded untimed "
        f"in {result.load_seconds:.0f} s)"
    )
    columns = ("operation", "stored", "median ms", "p90 ms", "items read per call", "slowest/fastest")
    for column in (*columns, "raw Query median ms", "raw slowest/fastest", "target"):
        table.add_column(column, justify="left" if column in ("operation", "history", "target") else "right")
    for label, unit, rows in result.operations:
        spread = result.spread(rows)
        verdict = ("met" if spread <= TARGET else "MISSED") + f" (<={TARGET}x across sizes)"
        raw = result.raw.get(label, [])
        raw_medians = [sample.median for sample in raw]
        for index, (size, sample, scanned) in enumerate(rows):
            last = index == len(rows) - 1
            table.add_row(
                label if index == 0 else "",
                f"{size:,} {unit}",
                f"{sample.median * 1e3:.3f}",
                f"{sample.p90 * 1e3:.3f}",
                f"{scanned:.0f}",
                f"{spread:.2f}x" if last else "",
                f"{raw_medians[index] * 1e3:.3f}" if raw_medians else "",
                f"{max(raw_medians) / min(raw_medians):.2f}x" if last and raw_medians else "",
                verdict if last else "",
            )
        table.add_section()
    return table

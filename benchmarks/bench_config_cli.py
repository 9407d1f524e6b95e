"""``config import`` and ``config diff`` of 1,000 pipelines with 5 tables each (issue 24), against a
raw ``batch_write_item`` of the same 6,000 items.

The file is written once (YAML, as a team keeps it in git). After an untimed warm-up round (100
pipelines), each round (2; 1 of 100 pipelines with ``--quick``) uses fresh tables and runs, in
this order:

* **raw batch_write_item**: the 6,000 items, already built as DynamoDB attribute maps (untimed:
  our own ``to_dynamodb_item`` of the validated entities), written with the low-level client in
  chunks of 25, ``UnprocessedItems`` re-sent: once one chunk after the other (the floor of a
  simple script), once with ``batch_concurrency`` chunks at once (as our batch writes);
* **config import (create)**: ``pipeline-registry config import FILE`` in-process (typer's
  ``CliRunner``) into empty tables: read and parse the YAML, validate every item, check moves (a
  ``BatchGetItem`` of the tables), then the conditional batch upsert (consistent reads, then
  ``TransactWriteItems`` of 25, ``batch_concurrency`` at once) of pipelines, then tables;
* **config diff (no changes)**: ``config diff FILE`` against what the import wrote (parse,
  validate, scan both config tables, compare field by field): exit 0;
* **config import (unchanged)**: the same import again: every item read and found unchanged,
  nothing written;
* **config diff (all changed)** and **config import (all changed)**: a second file where every
  pipeline and table differs in one field: every item listed with its field change / written
  at the next version (each put conditional on the version read).

items/s = 6,000 / the median wall time. The raw write cannot do what the others do (parse,
validate, compare, condition): it is the floor, not a competitor.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from rich.table import Table
from typer.testing import CliRunner

from airflow_provider_pipeline_registry.cli.app import app
from airflow_provider_pipeline_registry.cli.exit_codes import ExitCode
from airflow_provider_pipeline_registry.registry import PipelineConfig, Registry, TableConfig
from airflow_provider_pipeline_registry.registry.timezones import utc_now

RAW_SERIAL = "raw batch_write_item, chunks one after the other"
RAW_PARALLEL = "raw batch_write_item, batch_concurrency chunks at once"
IMPORT_CREATE = "config import (create)"
DIFF_SAME = "config diff (no changes)"
IMPORT_SAME = "config import (unchanged)"
DIFF_CHANGED = "config diff (all changed)"
IMPORT_CHANGED = "config import (all changed)"
VARIANTS = (RAW_SERIAL, RAW_PARALLEL, IMPORT_CREATE, DIFF_SAME, IMPORT_SAME, DIFF_CHANGED, IMPORT_CHANGED)
TABLES_PER_PIPELINE = 5


@dataclass
class ConfigCliResult:
    pipelines: int
    items: int
    concurrency: int
    seconds: dict[str, list[float]] = field(default_factory=dict)


def document(n: int, *, changed: bool = False) -> dict[str, Any]:
    """``n`` pipelines as a team writes them, each with ``TABLES_PER_PIPELINE`` tables."""
    suffix = "_v2" if changed else ""
    return {
        "pipelines": [
            {
                "pipeline_id": f"pipeline_{i:04d}",
                "name": f"Pipeline {i}",
                "owner": "data-eng",
                "schedule": "@daily",
                "spark_application": f"s3://jobs/pipeline_{i:04d}.py",
                "spark_conf": {"spark.executor.memory": "4g", "spark.sql.shuffle.partitions": "64"},
                "spark_args": ["--date", "{{ ds }}"],
                "parameters": {"lookback_days": 3, "mode": "merge" + suffix},
                "tags": ["sales", "bench"],
                "tables": [
                    {
                        "table_id": f"pipeline_{i:04d}.t{j}",
                        "table_name": f"fact_{i}_{j}",
                        "database": "curated",
                        "role": "target" if j == 0 else "source",
                        "location": f"s3://lake/curated/p{i}/t{j}{suffix}/",
                        "format": "delta",
                        "load_type": "merge",
                        "primary_keys": ["id"],
                        "partition_columns": ["event_date"],
                        "options": {"mergeSchema": "true"},
                    }
                    for j in range(TABLES_PER_PIPELINE)
                ],
            }
            for i in range(n)
        ]
    }


def raw_items(doc: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(logical table, attribute map) of every item of ``doc``, built untimed."""
    now = utc_now()
    stamps = {"version": 1, "created_at": now, "updated_at": now}
    items: list[tuple[str, dict[str, Any]]] = []
    for pipeline in doc["pipelines"]:
        fields = {k: v for k, v in pipeline.items() if k != "tables"}
        items.append(("pipeline_config", PipelineConfig.model_validate({**fields, **stamps}).to_dynamodb_item()))
        for table in pipeline["tables"]:
            entity = TableConfig.model_validate({**table, "pipeline_id": pipeline["pipeline_id"], **stamps})
            items.append(("table_config", entity.to_dynamodb_item()))
    return items


def _write_chunk(client: Any, table_name: str, chunk: list[dict[str, Any]]) -> None:
    request = {table_name: [{"PutRequest": {"Item": item}} for item in chunk]}
    while request:
        answer = client.batch_write_item(RequestItems=request)
        request = answer.get("UnprocessedItems") or {}


def raw_write(registry: Registry, items: list[tuple[str, dict[str, Any]]], concurrency: int) -> None:
    chunks = []
    for logical in ("pipeline_config", "table_config"):
        rows = [item for kind, item in items if kind == logical]
        name = registry.config.table_name(logical)
        chunks += [(name, rows[i : i + 25]) for i in range(0, len(rows), 25)]
    if concurrency <= 1:
        for name, chunk in chunks:
            _write_chunk(registry.client, name, chunk)
        return
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(lambda c: _write_chunk(registry.client, *c), chunks))


def _cli(registry: Registry, *args: str, expect: int) -> None:
    config = registry.config
    base = ["--endpoint-url", str(config.endpoint_url), "--table-prefix", config.effective_prefix]
    result = CliRunner().invoke(app, [*base, *args], env={"COLUMNS": "200"})
    assert result.exit_code == expect, (args, result.exit_code, result.output[-2000:])


def _fresh(registry: Registry, serial: int) -> Registry:
    target = Registry(registry.config.model_copy(update={"table_prefix": f"cc{serial}_"}), client=registry.client)
    target.create_tables()
    return target


def _drop(target: Registry) -> None:
    from airflow_provider_pipeline_registry.registry.tables import TABLES

    for table in TABLES:
        target.client.delete_table(TableName=target.config.table_name(table.logical))


def run(registry: Registry, *, quick: bool) -> ConfigCliResult:
    n, repeats = (100, 1) if quick else (1_000, 2)
    concurrency = registry.config.batch_concurrency
    result = ConfigCliResult(pipelines=n, items=n * (1 + TABLES_PER_PIPELINE), concurrency=concurrency)
    work = Path(tempfile.mkdtemp(prefix="bench-config-cli-"))
    files: dict[int, tuple[Path, Path, list[tuple[str, dict[str, Any]]]]] = {}
    for size in {min(n, 100), n}:  # the warm-up round runs 100 pipelines
        same, changed = work / f"registry_{size}.yaml", work / f"registry_{size}_v2.yaml"
        doc = document(size)
        same.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
        changed.write_text(yaml.safe_dump(document(size, changed=True), sort_keys=False), encoding="utf-8")
        files[size] = (same, changed, raw_items(doc))
    assert len(files[n][2]) == result.items
    serial = 0
    for r in range(repeats + 1):  # round 0: untimed warm-up
        same, changed, items = files[n if r else min(n, 100)]
        timings: dict[str, float] = {}
        for concurrency_used, name in ((1, RAW_SERIAL), (concurrency, RAW_PARALLEL)):
            serial += 1
            target = _fresh(registry, serial)
            start = time.perf_counter()
            raw_write(target, items, concurrency_used)
            timings[name] = time.perf_counter() - start
            _drop(target)
        serial += 1
        target = _fresh(registry, serial)
        steps = (
            (IMPORT_CREATE, ("config", "import", str(same)), ExitCode.OK),
            (DIFF_SAME, ("config", "diff", str(same)), ExitCode.OK),
            (IMPORT_SAME, ("config", "import", str(same)), ExitCode.OK),
            (DIFF_CHANGED, ("config", "diff", str(changed)), ExitCode.DIFFERENCES),
            (IMPORT_CHANGED, ("config", "import", str(changed)), ExitCode.OK),
        )
        for name, args, expect in steps:
            start = time.perf_counter()
            _cli(target, *args, expect=expect)
            timings[name] = time.perf_counter() - start
        stored = target.tables.find_entity("pipeline_0000.t4", consistent=True)
        assert stored is not None
        assert (stored.version, stored.location) == (2, "s3://lake/curated/p0/t4_v2/")
        _drop(target)
        if r:
            for name, seconds in timings.items():
                result.seconds.setdefault(name, []).append(seconds)
    return result


def report(result: ConfigCliResult) -> Table:
    runs = len(result.seconds[RAW_SERIAL])
    table = Table(
        title=f"config import / config diff of {result.pipelines:,} pipelines x {TABLES_PER_PIPELINE} tables "
        f"({result.items:,} items), batch_concurrency={result.concurrency} (median of {runs} run(s))"
    )
    for column in ("variant", "median s", "items/s", "x raw serial", "x raw parallel"):
        table.add_column(column, justify="left" if column == "variant" else "right")
    serial = statistics.median(result.seconds[RAW_SERIAL])
    parallel = statistics.median(result.seconds[RAW_PARALLEL])
    for name in VARIANTS:
        median = statistics.median(result.seconds[name])
        rate = result.items / median
        table.add_row(
            name,
            f"{median:.2f}",
            f"{rate:,.0f}",
            f"{rate / (result.items / serial):.2f}x",
            f"{rate / (result.items / parallel):.2f}x",
        )
    return table

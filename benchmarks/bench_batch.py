"""Batch upsert of N run logs: ``PipelineRunLogsWriteApi.batch_upsert`` vs boto3's ``Table.batch_writer()``.

Each run writes into its own freshly created tables (same schema), then counts the items with a
``Select=COUNT`` scan to prove every item is stored.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import Any

import boto3
from fixtures import plain_for_boto3, run_log_values

from airflow_provider_pipeline_registry.registry import DynamoDBConfig, Registry
from airflow_provider_pipeline_registry.registry.run_logs import PipelineRunLog
from airflow_provider_pipeline_registry.registry.timezones import utc_now

WRITE_ONLY = "ours, write only (items pre-validated)"


@dataclass
class BatchResult:
    """Seconds per run of each variant, and whether every item was found afterwards."""

    items: int
    seconds: dict[str, list[float]] = field(default_factory=dict)
    all_present: dict[str, bool] = field(default_factory=dict)


def _count(client: Any, table: str) -> int:
    total, params = 0, {"TableName": table, "Select": "COUNT"}
    while True:
        response = client.scan(**params)
        total += response["Count"]
        if "LastEvaluatedKey" not in response:
            return total
        params["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def _fresh_registry(base: DynamoDBConfig, client: Any, serial: int) -> Registry:
    registry = Registry(base.model_copy(update={"table_prefix": f"batch{serial}_"}), client=client)
    registry.create_tables()
    return registry


def _drop(registry: Registry) -> None:
    for logical in ("pipeline_config", "table_config", "pipeline_run_logs"):
        registry.client.delete_table(TableName=registry.config.table_name(logical))  # type: ignore[arg-type]


def run(registry: Registry, *, quick: bool) -> BatchResult:
    n, repeats = (1_000, 1) if quick else (10_000, 5)
    variants = ["ours", "boto3 batch_writer", WRITE_ONLY]
    result = BatchResult(items=n, seconds={v: [] for v in variants}, all_present={})
    client = registry.client
    resource = boto3.session.Session().resource(
        "dynamodb",
        region_name=registry.config.region,
        endpoint_url=registry.config.endpoint_url,
        config=client.meta.config,  # the very same botocore settings as our client
    )
    serial = itertools.count()
    # round 0 is an untimed warm-up of both variants (DynamoDB Local's JIT, connection pools)
    for r in range(repeats + 1):
        shift = r % len(variants)
        for variant in variants[shift:] + variants[:shift]:
            target = _fresh_registry(registry.config, client, next(serial))
            runs = [run_log_values(i, prefix=f"batch-{variant[:4]}") for i in range(n if r else min(n, 2_000))]
            table_name = target.config.table_name("pipeline_run_logs")
            if variant == "ours":
                start = time.perf_counter()
                report = target.runs_write.batch_upsert(runs)
                elapsed = time.perf_counter() - start
                assert report.ok, report.failed[:3]
            elif variant == WRITE_ONLY:
                # where the time goes: the gateway's BatchWriteItem loop alone, items validated beforehand
                items = [target.runs_write.to_item(values) for values in runs]
                start = time.perf_counter()
                written = target.runs_write.gateway.batch_write(items)
                elapsed = time.perf_counter() - start
                assert not written.failed, written.failed[:3]
            else:
                # the floor: items already converted to what boto3 accepts (strings, Decimal), untimed
                now = utc_now()
                plain = [plain_for_boto3({**values, "updated_at": now}) for values in runs]
                start = time.perf_counter()
                table = resource.Table(table_name)
                with table.batch_writer() as writer:
                    for item in plain:
                        writer.put_item(Item=item)
                elapsed = time.perf_counter() - start
            present = _count(client, table_name) == len(runs)
            if r:
                result.seconds[variant].append(elapsed)
            result.all_present[variant] = result.all_present.get(variant, True) and present
            if variant == "ours" and r == 1:  # spot-check that what we wrote reads back
                first = target.runs.find_entity(runs[0]["run_id"], runs[0]["pipeline_id"])
                assert isinstance(first, PipelineRunLog)
                assert first.metrics == runs[0]["metrics"]
            _drop(target)
    return result

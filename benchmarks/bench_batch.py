"""Batch upsert of N run logs: ``PipelineRunLogsWriteApi.batch_upsert`` vs boto3's ``Table.batch_writer()``.

Ours writes its 25-item chunks in parallel, each a conditional ``TransactWriteItems`` (replay-safe
beside other writers, see the README's "Replays"); ``OLD`` is the path it replaced, measured in
the same run: the same read of the stored runs, then unconditional ``BatchWriteItem`` chunks.
Ours writes its chunks in parallel (``batch_concurrency`` at once on the one client);
``batch_writer`` sends them one after the other. Each run writes into its own freshly created
tables (same schema), then counts the items with a ``Select=COUNT`` scan to prove every item is
stored. A second set of runs repeats ours and ``batch_writer`` under injected faults (the
reliability suite's injector, on each variant's client alike): 20% of the BatchWriteItem calls
throttled, 20% only partly processed (items handed back in ``UnprocessedItems``).
"""

from __future__ import annotations

import itertools
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from boto3.dynamodb.types import TypeSerializer
from fixtures import plain_for_boto3, run_log_values

from airflow_provider_pipeline_registry.registry import DynamoDBConfig, Registry
from airflow_provider_pipeline_registry.registry.gateway import create_dynamodb_client
from airflow_provider_pipeline_registry.registry.run_logs import PipelineRunLog
from airflow_provider_pipeline_registry.registry.timezones import utc_now

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "reliability"))
from reliability_faults import FaultInjector

OURS = "ours"
WRITER = "boto3 batch_writer"
WRITE_ONLY = "ours, write only (items pre-validated)"
OLD = "ours before: read + BatchWriteItem (no condition)"
#: the ceiling of any conditional batch: raw TransactWriteItems of 25 pre-built items, as many at
#: once as ours, no validation and no read (what DynamoDB Local's transactions allow here)
RAW_TRANSACT = "raw TransactWriteItems of 25, parallel (items pre-built)"
OURS_FAULTS = "ours, 20% throttled + partial batches"
WRITER_FAULTS = "boto3 batch_writer, 20% throttled + partial batches"
#: the injected faults: share of BatchWriteItem calls throttled, share only partly processed
THROTTLE_RATE = 0.2
UNPROCESSED_RATE = 0.2
#: attempts per call under faults (both variants' clients alike): 20% throttling makes 6 in a row
#: likely enough over thousands of calls to turn a benchmark run into a report of failed items
FAULT_MAX_ATTEMPTS = 10


class ResourceFaultInjector(FaultInjector):
    """The injector on a boto3 *resource*'s client: its handlers run before boto3's own
    (more specific event names first), so the items it withholds are still plain values while
    boto3 deserializes the response after it: hand them back in the wire format."""

    _serializer = TypeSerializer()

    def _wire(self, item: dict[str, Any]) -> dict[str, Any]:
        return {k: self._serializer.serialize(v) for k, v in item.items()}

    def _report_unprocessed(self, parsed: dict[str, Any], context: dict[str, Any], **kwargs: Any) -> None:
        withheld = context.get("reliability_withheld")
        if withheld:
            context["reliability_withheld"] = {
                table: [{"PutRequest": {"Item": self._wire(r["PutRequest"]["Item"])}} for r in requests]
                for table, requests in withheld.items()
            }
        super()._report_unprocessed(parsed, context, **kwargs)


@dataclass
class BatchResult:
    """Seconds per run of each variant, and how many items each run left missing."""

    items: int
    concurrency: int
    seconds: dict[str, list[float]] = field(default_factory=dict)
    missing: dict[str, int] = field(default_factory=dict)
    faults: dict[str, int] = field(default_factory=dict)

    def all_present(self, variant: str) -> bool:
        return self.missing.get(variant, 0) == 0


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


def _resource(config: DynamoDBConfig, client: Any) -> Any:
    return boto3.session.Session().resource(
        "dynamodb",
        region_name=config.region,
        endpoint_url=config.endpoint_url,
        config=client.meta.config,  # the very same botocore settings as our client
    )


def _write_with_batch_writer(resource: Any, table_name: str, runs: list[dict[str, Any]]) -> float:
    # the floor: items already converted to what boto3 accepts (strings, Decimal), untimed
    now = utc_now()
    plain = [plain_for_boto3({**values, "updated_at": now}) for values in runs]
    start = time.perf_counter()
    with resource.Table(table_name).batch_writer() as writer:
        for item in plain:
            writer.put_item(Item=item)
    return time.perf_counter() - start


def run(
    registry: Registry, *, quick: bool, concurrency: int | None = None, faults: bool = True, repeats: int | None = None
) -> BatchResult:
    """Clean runs (ours, write only, batch_writer), then runs under injected faults (unless
    ``faults=False``: the latency section runs the clean variants only)."""
    # one run under faults: batch_writer's is mostly botocore's backoff sleeps (about 90 s for
    # 10,000 items), and the two ratios seen so far (3.5x) are far from the 1.5x target
    n, default_repeats, fault_repeats = (300, 1, 1) if quick else (10_000, 3, 1)
    repeats = repeats or default_repeats
    base = registry.config.model_copy(update={"batch_concurrency": concurrency or registry.config.batch_concurrency})
    result = BatchResult(items=n, concurrency=base.batch_concurrency)
    client = registry.client
    resource = _resource(base, client)
    serial = itertools.count()

    def once(variant: str, target: Registry, writer: Any, runs: list[dict[str, Any]]) -> float:
        table_name = target.config.table_name("pipeline_run_logs")
        if variant in (OURS, OURS_FAULTS):
            start = time.perf_counter()
            report = target.runs_write.batch_upsert(runs)
            elapsed = time.perf_counter() - start
            if not report.ok:  # reported, never silent: counted as missing below
                print(f"{variant}: {len(report.failed)} failed, e.g. {report.failed[:1]}")
        elif variant == OLD:
            # the replaced path: validate, read the stored runs (unknown attributes), BatchWriteItem
            start = time.perf_counter()
            api = target.runs_write
            items = [api.to_item(values) for values in runs]
            keys = [{"run_id": i["run_id"], "pipeline_id": i["pipeline_id"]} for i in items]
            api.gateway.batch_get(keys, consistent=True)
            written = api.gateway.batch_write(items)
            elapsed = time.perf_counter() - start
            assert not written.failed, written.failed[:3]
        elif variant == WRITE_ONLY:
            # where the time goes: the gateway's parallel BatchWriteItem chunks alone
            items = [target.runs_write.to_item(values) for values in runs]
            start = time.perf_counter()
            written = target.runs_write.gateway.batch_write(items)
            elapsed = time.perf_counter() - start
            assert not written.failed, written.failed[:3]
        elif variant == RAW_TRANSACT:
            items = [target.runs_write.to_item(values) for values in runs]
            chunks = [items[i : i + 25] for i in range(0, len(items), 25)]

            def transact(chunk: list[dict[str, Any]]) -> None:
                target.client.transact_write_items(
                    TransactItems=[
                        {
                            "Put": {
                                "TableName": table_name,
                                "Item": item,
                                "ConditionExpression": "attribute_not_exists(run_id)",
                            }
                        }
                        for item in chunk
                    ]
                )

            start = time.perf_counter()
            with ThreadPoolExecutor(max_workers=base.batch_concurrency) as pool:
                list(pool.map(transact, chunks))
            elapsed = time.perf_counter() - start
        else:
            elapsed = _write_with_batch_writer(writer, table_name, runs)
        return elapsed

    def rounds(
        variants: list[str], count: int, setups: dict[str, tuple[DynamoDBConfig, Any, Any]], warm_up: bool = True
    ) -> None:
        """Each variant ``count`` times, interleaved; ``setups``: its config, client and resource."""
        # round 0 is an untimed warm-up of every variant (DynamoDB Local's JIT, connection pools)
        for r in range(0 if warm_up else 1, count + 1):
            shift = r % len(variants)
            for variant in variants[shift:] + variants[:shift]:
                config, variant_client, writer = setups[variant]
                target = _fresh_registry(config, variant_client, next(serial))
                runs = [
                    run_log_values(i, prefix=f"batch-{variant[:4].strip()}") for i in range(n if r else min(n, 2_000))
                ]
                elapsed = once(variant, target, writer, runs)
                missing = len(runs) - _count(client, target.config.table_name("pipeline_run_logs"))
                if r:
                    result.seconds.setdefault(variant, []).append(elapsed)
                    result.missing[variant] = result.missing.get(variant, 0) + missing
                if variant == OURS and r == 1:  # spot-check that what we wrote reads back
                    first = target.runs.find_entity(runs[0]["run_id"], runs[0]["pipeline_id"])
                    assert isinstance(first, PipelineRunLog)
                    assert first.metrics == runs[0]["metrics"]
                _drop(target)

    clean = [OURS, WRITER, OLD, WRITE_ONLY, RAW_TRANSACT]
    rounds(clean, repeats, dict.fromkeys(clean, (base, client, resource)))
    if not faults:
        return result

    # under faults: a client of its own (more attempts) for ours, and the same settings for batch_writer
    faulty_config = base.model_copy(update={"max_attempts": FAULT_MAX_ATTEMPTS})
    faulty_client = create_dynamodb_client(faulty_config)
    faulty_resource = _resource(faulty_config, faulty_client)
    injectors = [
        kind(
            c,
            rate=THROTTLE_RATE,
            seed=seed,
            kinds=("throttle",),
            operations=(operation,),
            unprocessed_rate=UNPROCESSED_RATE,
        )
        for kind, seed, c, operation in (
            (FaultInjector, 1, faulty_client, "TransactWriteItems"),  # ours: no UnprocessedItems there
            (ResourceFaultInjector, 2, faulty_resource.meta.client, "BatchWriteItem"),
        )
    ]
    faulty = (faulty_config, faulty_client, faulty_resource)
    # no warm-up round: the server is warm by now (the new clients' pools fill in the first chunks)
    rounds([OURS_FAULTS, WRITER_FAULTS], fault_repeats, dict.fromkeys([OURS_FAULTS, WRITER_FAULTS], faulty), False)
    for injector, variant in zip(injectors, (OURS_FAULTS, WRITER_FAULTS), strict=True):
        result.faults[variant] = injector.faults["throttle"]
        result.faults[variant + " unprocessed"] = injector.unprocessed_items
        injector.remove()
    return result

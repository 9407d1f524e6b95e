"""The SUCCESS end with 1 and 5 watermark commits against the plain end (issue #23).

Each timed call is the SUCCESS end of a fresh RUNNING run (started untimed) of a pipeline with 5
incremental tables: *plain end* (``finish``, nothing to commit: one conditional ``UpdateItem``),
*end + 1 watermark* and *end + 5 watermarks* (the run logger's path, ``commit_end`` with the
snapshot its join returned: one ``TransactWriteItems`` of the run's end plus, per table, the
state update and a history put) and *end operator + 1 watermark* (``finish`` with
``watermarks=``: one consistent ``GetItem`` of the run first, then the same transaction).
Variants interleaved in a rotating order. Every request of the section asks for
``ReturnConsumedCapacity=TOTAL`` (a botocore ``before-parameter-build`` hook) and an ``after-call``
hook adds up the capacity units of the timed call. Target: at most 2.5x the plain end's latency.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from timing import Sample, interleave

from airflow_provider_pipeline_registry.registry import DynamoDBConfig, Registry

TARGET = 2.5
TABLES = 5
#: variant -> (watermarks committed, through the run logger's path: commit_end with its snapshot)
VARIANTS = {
    "plain end": (0, False),
    "end + 1 watermark": (1, True),
    "end + 5 watermarks": (5, True),
    "end operator + 1 watermark": (1, False),
}


@dataclass
class WatermarkResult:
    samples: dict[str, Sample] = field(default_factory=dict)
    capacity: dict[str, float] = field(default_factory=dict)
    calls: dict[str, list[str]] = field(default_factory=dict)
    #: the emulator's floor: raw boto3 calls of the same shapes on scratch items, same rounds
    raw: dict[str, Sample] = field(default_factory=dict)


def _raw_variants(registry: Registry) -> dict[str, Callable[[], object]]:
    """A plain ``UpdateItem`` and ``TransactWriteItems`` of 3 and 11 actions (the run plus 1 or 5
    tables' state update and history put), unconditional, on scratch items of the same tables."""
    client = registry.client
    runs = registry.runs_write.gateway.table_name
    marks = registry.runs_write.watermarks.gateway.table_name
    run_key = {"run_id": {"S": "raw"}, "pipeline_id": {"S": "wm"}}
    client.put_item(TableName=runs, Item={**run_key, "n": {"N": "0"}})
    counter = itertools.count()

    def run_update() -> dict[str, Any]:
        return {
            "TableName": runs,
            "Key": run_key,
            "UpdateExpression": "SET n = :n",
            "ExpressionAttributeValues": {":n": {"N": str(next(counter))}},
        }

    def transaction(tables: int) -> None:
        n = str(next(counter))
        actions: list[dict[str, Any]] = [{"Update": run_update()}]
        for i in range(tables):
            state = {"table_id": {"S": f"raw{i}"}, "entry": {"S": "state"}}
            actions.append(
                {
                    "Update": {
                        "TableName": marks,
                        "Key": state,
                        "UpdateExpression": "SET seq = :n",
                        "ExpressionAttributeValues": {":n": {"N": n}},
                    }
                }
            )
            actions.append(
                {"Put": {"TableName": marks, "Item": {"table_id": {"S": f"raw{i}"}, "entry": {"S": f"h{n}"}}}}
            )
        client.transact_write_items(TransactItems=actions)

    return {
        "raw boto3 UpdateItem": lambda: client.update_item(**run_update()),
        "raw boto3 TransactWriteItems (3 actions)": lambda: transaction(1),
        "raw boto3 TransactWriteItems (11 actions)": lambda: transaction(5),
    }


class _Meter:
    """Capacity units and operations of the calls made while ``on``."""

    def __init__(self, client: Any) -> None:
        self.on = False
        self.units = 0.0
        self.operations: list[str] = []
        client.meta.events.register("before-parameter-build.dynamodb", self._ask)
        client.meta.events.register("after-call.dynamodb", self._count)

    @staticmethod
    def _ask(params: dict[str, Any], **_: Any) -> None:
        params["ReturnConsumedCapacity"] = "TOTAL"

    def _count(self, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        if not self.on:
            return
        self.operations.append(model.name)
        consumed = parsed.get("ConsumedCapacity")
        for entry in consumed if isinstance(consumed, list) else [consumed] if consumed else []:
            self.units += float(entry.get("CapacityUnits") or 0)


def run(config: DynamoDBConfig, *, quick: bool = False) -> WatermarkResult:
    registry = Registry(config.model_copy(update={"table_prefix": "bench_wm_"}))
    registry.create_tables()
    registry.pipelines_write.upsert({"pipeline_id": "wm", "name": "wm"})
    for i in range(TABLES):
        registry.tables_write.upsert(
            {"table_id": f"wm_t{i}", "pipeline_id": "wm", "table_name": f"t{i}", "watermark_type": "integer"}
        )
    meter = _Meter(registry.client)
    high = itertools.count(1)
    runs = itertools.count()
    rounds, warmup = (5, 1) if quick else (40, 3)
    result = WatermarkResult(samples={name: Sample(name) for name in VARIANTS})

    def one(name: str) -> tuple[float, float, list[str]]:
        run_id = f"wm-{next(runs)}"
        started = registry.runs_write.start({"run_id": run_id, "pipeline_id": "wm"})
        value = next(high)
        end = {
            "run_id": run_id,
            "pipeline_id": "wm",
            "status": "SUCCESS",
            "attempt_id": started.attempt_id,
            "watermarks": {f"wm_t{i}": value for i in range(VARIANTS[name][0])},
        }
        read = started.watermarks or {}
        meter.units, meter.operations, meter.on = 0.0, [], True
        clock: Callable[[], float] = __import__("time").perf_counter
        begin = clock()
        if VARIANTS[name][1]:
            registry.runs_write.commit_end(end, read=read)
        else:
            registry.runs_write.finish(end)
        took = clock() - begin
        meter.on = False
        return took, meter.units, list(meter.operations)

    names = list(VARIANTS)
    for _ in range(warmup):
        for name in names:
            one(name)
    units: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            took, consumed, operations = one(name)
            result.samples[name].values.append(took)
            units[name].append(consumed)
            result.calls[name] = operations
    result.capacity = {name: statistics.median(values) for name, values in units.items()}
    result.raw = interleave(_raw_variants(registry), rounds=rounds, warmup=warmup)
    return result


def report(result: WatermarkResult) -> Any:
    from rich.table import Table

    plain = result.samples["plain end"].median
    table = Table(title="SUCCESS end with watermark commits (finish of a RUNNING run)")
    for column in ("variant", "median ms", "p90 ms", "x plain", "capacity units", "calls", "verdict"):
        table.add_column(column)
    for name, sample in result.samples.items():
        ratio = sample.median / plain
        verdict = "" if name == "plain end" else ("met" if ratio <= TARGET else "MISSED") + f" (<= {TARGET}x)"
        table.add_row(
            name,
            f"{sample.median * 1000:.2f}",
            f"{sample.p90 * 1000:.2f}",
            f"{ratio:.2f}x",
            f"{result.capacity[name]:g}",
            " + ".join(result.calls.get(name, [])),
            verdict,
        )
    floor = result.raw["raw boto3 UpdateItem"].median
    for name, sample in result.raw.items():
        table.add_row(
            name,
            f"{sample.median * 1000:.2f}",
            f"{sample.p90 * 1000:.2f}",
            f"{sample.median / floor:.2f}x (raw)",
            "",
            "",
            "",
        )
    return table

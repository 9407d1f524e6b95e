"""The runs table's indexes project only what a start or an end writes (issue #26): a heartbeat and
a driver's claim of a run up to 1 KB cost 1 write unit, a run without heartbeats stays within 1.2x
the floor of a start and an end on a table with the same two indexes, every index reader still
returns whole runs, and a table created with the earlier ``ALL`` projections keeps working and is
migrated by ``migrate_indexes`` (units counted from ``ReturnConsumedCapacity``, not timed)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from registry_fixtures import create_with_all_projections

from airflow_provider_pipeline_registry.registry import Registry
from airflow_provider_pipeline_registry.registry.attributes import item_size
from airflow_provider_pipeline_registry.registry.run_logger import PipelineRunLogger
from airflow_provider_pipeline_registry.registry.run_logs.models import (
    PIPELINE_RUNS_INDEX,
    RUN_INDEX_ATTRIBUTES,
    RUNNING_RUNS_INDEX,
)

pytestmark = pytest.mark.integration

PIPELINE = "cap"
DECLARED = f"INCLUDE({', '.join(sorted(RUN_INDEX_ATTRIBUTES))})"


class Meter:
    """Write and read units of the calls on a registry's client (every request asks for
    ``ReturnConsumedCapacity=TOTAL`` through a botocore hook, as benchmarks/bench_capacity.py does)."""

    def __init__(self, registry: Registry) -> None:
        self.events = registry.client.meta.events
        self.writes = 0.0
        self.reads = 0.0
        self.operations: list[str] = []
        self.events.register("before-parameter-build.dynamodb", self._ask)
        self.events.register("after-call.dynamodb", self._count)

    def close(self) -> None:
        self.events.unregister("before-parameter-build.dynamodb", self._ask)
        self.events.unregister("after-call.dynamodb", self._count)

    @staticmethod
    def _ask(params: dict[str, Any], model: Any, **_: Any) -> None:
        if "ReturnConsumedCapacity" in model.input_shape.members:
            params["ReturnConsumedCapacity"] = "TOTAL"

    def _count(self, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        self.operations.append(model.name)
        consumed = parsed.get("ConsumedCapacity")
        entries = consumed if isinstance(consumed, list) else [consumed] if consumed else []
        units = sum(float(e.get("CapacityUnits") or 0) for e in entries)
        if model.name in {"GetItem", "Query", "BatchGetItem", "Scan"}:
            self.reads += units
        else:
            self.writes += units

    def take(self) -> tuple[float, float, list[str]]:
        taken = (self.writes, self.reads, self.operations)
        self.writes, self.reads, self.operations = 0.0, 0.0, []
        return taken


@pytest.fixture
def meter(registry: Registry) -> Iterator[Meter]:
    counting = Meter(registry)
    yield counting
    counting.close()


def _logger(registry: Registry, run_id: str, opened: str | None = None) -> PipelineRunLogger:
    return PipelineRunLogger(
        pipeline_id=PIPELINE,
        run_id=run_id,
        registry=registry,
        heartbeat_interval=3600.0,  # the heartbeats are sent with flush(), at chosen points
        handle_sigterm=False,
        watch_parent=False,
        dag_id="cap_daily",
        dag_run_id="scheduled__2026-03-08T06:00:00+00:00",
        task_id="spark_submit",
        opened_attempt_id=opened,
    )


def _start(registry: Registry, run_id: str) -> str:
    started = registry.runs_write.start(
        {
            "run_id": run_id,
            "pipeline_id": PIPELINE,
            "dag_id": "cap_daily",
            "dag_run_id": "scheduled__2026-03-08T06:00:00+00:00",
            "task_id": "start_run",
        }
    )
    assert started.attempt_id is not None
    return started.attempt_id


def _indexed_floor(registry: Registry, meter: Meter) -> float:
    """One put of a 1 KB RUNNING item in both indexes and one update ending it (raw boto3)."""
    table = registry.runs_write.gateway.table_name
    key = {"run_id": {"S": "floor"}, "pipeline_id": {"S": PIPELINE}}
    item = {**key, "status": {"S": "RUNNING"}, "start_time": {"S": "2026-03-08T06:00:00.123456Z"}}
    item["is_running"] = {"S": "true"}
    item["pad"] = {"S": "x" * (1024 - item_size({**item, "pad": {"S": ""}}))}
    assert item_size(item) == 1024
    meter.take()
    registry.client.put_item(TableName=table, Item=item)
    registry.client.update_item(
        TableName=table,
        Key=key,
        UpdateExpression="SET #s = :s REMOVE is_running",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": {"S": "SUCCESS"}},
    )
    writes, _, _ = meter.take()
    return writes


def _projections(registry: Registry) -> dict[str, str]:
    table = registry.client.describe_table(TableName=registry.runs_write.gateway.table_name)["Table"]
    found: dict[str, str] = {}
    for index in table.get("GlobalSecondaryIndexes", []):
        projection = index["Projection"]
        kind = projection["ProjectionType"]
        names = sorted(projection.get("NonKeyAttributes", []))
        found[index["IndexName"]] = f"INCLUDE({', '.join(names)})" if kind == "INCLUDE" else kind
    return found


def test_fresh_run_indexes_project_only_what_a_start_or_an_end_writes(registry: Registry) -> None:
    assert _projections(registry) == {PIPELINE_RUNS_INDEX: DECLARED, RUNNING_RUNS_INDEX: DECLARED}
    assert registry.migrate_indexes(dry_run=True) == []  # a fresh table needs no migration


@pytest.mark.needs("consumed-capacity")
def test_a_heartbeat_and_a_claim_cost_one_write_unit(registry: Registry, meter: Meter) -> None:
    floor = _indexed_floor(registry, meter)
    assert floor == 6  # put 1 + end 1, each index: the entry added, then removed or rewritten

    opened = _start(registry, "beats")
    start_units, _, _ = meter.take()
    logger = _logger(registry, "beats", opened)
    with logger:
        claim_units, _, _ = meter.take()
        beats = []
        for beat in range(4):
            for m in range(5):
                logger.add_metric(f"metric_{m:02d}_rows", 1_000_000 * (beat + 1) + m)
            logger.flush()
            beats.append(meter.take()[0])
    end_units, _, _ = meter.take()
    stored = registry.client.get_item(
        TableName=registry.runs_write.gateway.table_name,
        Key={"run_id": {"S": "beats"}, "pipeline_id": {"S": PIPELINE}},
    )["Item"]
    assert item_size(stored) <= 1024  # the documented size: up to 1 KB, a heartbeat is 1 unit
    assert beats == [1, 1, 1, 1]
    assert claim_units == 1
    # the start operator's start and the driver's claim are two writes by design: 3 + 1 + 3 = 7
    assert (start_units + claim_units + end_units) / floor <= 1.2, (start_units, claim_units, end_units)

    meter.take()
    with _logger(registry, "alone"):  # the run logger alone: exactly the floor of the same indexes
        pass
    assert meter.take()[0] == floor


def test_index_readers_return_whole_runs(registry: Registry, meter: Meter) -> None:
    opened = _start(registry, "running")
    running = _logger(registry, "running", opened)
    running.__enter__()
    running.add_metric("rows_in", 7)
    running.flush()
    ended = _logger(registry, "ended")
    with ended:
        ended.add_metric("rows_out", 42)

    by_id = {r: registry.runs.get_by_id(r, PIPELINE, consistent=True) for r in ("running", "ended")}
    meter.take()
    page = registry.runs.list_by_pipeline(PIPELINE)
    _, _, operations = meter.take()
    assert operations == ["Query", "BatchGetItem"]  # the index page, then its runs from the table
    assert {r.run_id: r for r in page} == by_id  # metrics, heartbeat, attempt: all there
    assert by_id["ended"].metrics == {"rows_out": 42}

    (listed,) = registry.runs.list_running()
    assert listed == by_id["running"]
    assert listed.heartbeat_at is not None
    assert listed.metrics == {"rows_in": 7}
    later = listed.heartbeat_at + timedelta(minutes=5)
    assert [r.run_id for r in registry.runs.list_stale(timedelta(minutes=1), now=later)] == ["running"]
    assert registry.runs.list_stale(timedelta(minutes=10), now=later) == []

    assert registry.runs.latest(PIPELINE) == max(by_id.values(), key=lambda r: r.start_time)
    summaries = registry.runs.list_summaries(PIPELINE, statuses=["SUCCESS"])
    assert [(s.run_id, s.status.value) for s in summaries] == [("ended", "SUCCESS")]
    running.__exit__(None, None, None)
    assert [r.status.value for r in registry.runs.list_by_pipeline(PIPELINE, statuses=["RUNNING"])] == []


@pytest.mark.needs("consumed-capacity")
def test_a_page_of_runs_costs_half_a_read_unit_a_run(registry: Registry, meter: Meter) -> None:
    for run_id in ("a", "b"):
        with _logger(registry, run_id) as logger:
            logger.add_metric("rows", 1)
    meter.take()
    registry.runs.list_by_pipeline(PIPELINE)
    # the index page (0.5) and two runs up to 4 KB, eventually consistent (0.5 each)
    assert meter.take()[:2] == (0, 1.5)
    registry.runs.list_summaries(PIPELINE)
    assert meter.take() == (0, 0.5, ["Query"])


@pytest.mark.needs("gsi-update")
def test_a_table_with_all_projections_works_and_is_migrated(make_registry: Any) -> None:
    registry: Registry = make_registry(create=False)
    create_with_all_projections(registry)
    assert _projections(registry) == {PIPELINE_RUNS_INDEX: "ALL", RUNNING_RUNS_INDEX: "ALL"}
    meter = Meter(registry)
    try:
        opened = _start(registry, "old")
        logger = _logger(registry, "old", opened)
        with logger:
            logger.add_metric("rows", 1)
            logger.flush()
            meter.take()
            (running,) = registry.runs.list_running()
            _, _, operations = meter.take()
        assert operations == ["Query"]  # entries of an ALL index are whole runs: no table read
        assert running.metrics == {"rows": 1}
        assert running.heartbeat_at is not None

        plan = registry.migrate_indexes(dry_run=True)
        assert [(m.index, m.current, m.declared, m.action) for m in plan] == [
            (PIPELINE_RUNS_INDEX, "ALL", DECLARED, "recreate"),
            (RUNNING_RUNS_INDEX, "ALL", DECLARED, "recreate"),
        ]
        assert _projections(registry) == {PIPELINE_RUNS_INDEX: "ALL", RUNNING_RUNS_INDEX: "ALL"}

        assert registry.migrate_indexes(timeout=60) == plan
        assert _projections(registry) == {PIPELINE_RUNS_INDEX: DECLARED, RUNNING_RUNS_INDEX: DECLARED}
        assert registry.migrate_indexes() == []  # idempotent

        (listed,) = registry.runs.list_by_pipeline(PIPELINE)  # backfilled, read whole from the table
        assert listed == registry.runs.get_by_id("old", PIPELINE, consistent=True)
        assert listed.metrics == {"rows": 1}
        assert registry.runs.list_running().items == []
    finally:
        meter.close()


@pytest.mark.needs("consumed-capacity", "gsi-update")
def test_what_all_projections_cost_and_what_the_migration_saves(make_registry: Any) -> None:
    registry: Registry = make_registry(create=False)
    create_with_all_projections(registry)
    meter = Meter(registry)
    try:
        for run_id in ("before", "after"):
            opened = _start(registry, run_id)
            with _logger(registry, run_id, opened) as logger:
                logger.add_metric("rows", 1)
                meter.take()
                logger.flush()
                beat, _, _ = meter.take()
            # ALL: the heartbeat rewrites both index entries too; migrated: the item alone
            assert beat == (3 if run_id == "before" else 1)
            if run_id == "before":
                registry.migrate_indexes(timeout=60)
    finally:
        meter.close()


def test_a_stale_read_of_a_listed_run_is_read_again_consistently(registry: Registry) -> None:
    """An eventually consistent read may miss a run the index lists (just started) or find it older
    than its entry: those runs are read again strongly consistent, never dropped or shown older."""
    with _logger(registry, "ended") as logger:
        logger.add_metric("rows", 3)
    _start(registry, "new")
    requests: list[tuple[bool, list[str]]] = []

    def asked(params: dict[str, Any], **_: Any) -> None:
        (request,) = params["RequestItems"].values()
        requests.append((bool(request.get("ConsistentRead")), sorted(k["run_id"]["S"] for k in request["Keys"])))

    def stale(parsed: dict[str, Any], **_: Any) -> None:
        if len(requests) == 1:  # the eventually consistent read: "new" not there yet, "ended" still RUNNING
            (items,) = parsed["Responses"].values()
            items[:] = [dict(i, status={"S": "RUNNING"}) for i in items if i["run_id"]["S"] != "new"]

    events = registry.client.meta.events
    events.register("before-parameter-build.dynamodb.BatchGetItem", asked)
    events.register("after-call.dynamodb.BatchGetItem", stale)
    try:
        page = registry.runs.list_by_pipeline(PIPELINE)
    finally:
        events.unregister("before-parameter-build.dynamodb.BatchGetItem", asked)
        events.unregister("after-call.dynamodb.BatchGetItem", stale)
    assert [(r.run_id, r.status.value) for r in page] == [("new", "RUNNING"), ("ended", "SUCCESS")]
    assert page.items[1].metrics == {"rows": 3}
    # both runs read again, in one strongly consistent BatchGetItem
    assert requests == [(False, ["ended", "new"]), (True, ["ended", "new"])]

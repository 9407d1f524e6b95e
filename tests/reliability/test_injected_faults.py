"""Throttling, server errors, connection resets, lost responses and partial batches injected into
a share of the calls made against a REAL DynamoDB Local (botocore event hooks on the client).

What must hold: batch writes of thousands of items end with every item stored, and a single write
either succeeds (and is stored) or raises ``RetryableError`` after exactly ``max_attempts`` tries.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from reliability_faults import ALL_KINDS, FaultInjector
from reliability_helpers import scan_all

from airflow_provider_pipeline_registry.registry import (
    ConflictError,
    PipelineRunLog,
    Registry,
    RegistryConnectionError,
    RetryableError,
    RunStatus,
    TableConfig,
)
from airflow_provider_pipeline_registry.registry.attributes import decode_item

pytestmark = pytest.mark.integration

RegistryFactory = Callable[..., Registry]
T0 = datetime(2026, 3, 8, 6, 59, 30, 123456, tzinfo=UTC)  # the US DST change, for good measure
STATUSES = (RunStatus.SUCCESS, RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.RUNNING)


def run_log(i: int) -> dict[str, Any]:
    status = STATUSES[i % len(STATUSES)]
    start = T0 + timedelta(seconds=i)
    return {
        "run_id": f"backfill/run-{i:05d}",
        "pipeline_id": f"pipeline_{i % 7}",
        "status": status,
        "try_number": 1 + i % 3,
        "start_time": start,
        "end_time": None if status is RunStatus.RUNNING else start + timedelta(minutes=3, microseconds=i),
        "metrics": {"records_read": i * 1000, "ratio": i / 7},
        "error_message": f"error {i}" if status is RunStatus.FAILED else None,
        "dag_id": "backfill",
    }


def table_config(i: int, *, location_suffix: str = "") -> dict[str, Any]:
    return {
        "table_id": f"db.table_{i:05d}",
        "pipeline_id": f"pipeline_{i % 11}",
        "table_name": f"table_{i}",
        "database": "db",
        "location": f"s3://bucket/db/table_{i}{location_suffix}",
        "format": "delta" if i % 2 else "parquet",
        "partition_columns": ["dt"],
        "options": {"mergeSchema": "true"},
    }


def test_3000_run_logs_survive_throttling_errors_resets_lost_responses_and_partial_batches(
    make_registry: RegistryFactory,
) -> None:
    registry = make_registry(max_attempts=10)
    faults = FaultInjector(registry.client, rate=0.3, seed=20260308, unprocessed_rate=0.3)
    runs = [run_log(i) for i in range(3000)]

    report = registry.runs_write.batch_upsert(runs)

    faults.remove()
    assert report.ok, report.failed[:3]
    assert len(report.written) == 3000
    # the faults really happened, of every kind (run batches are conditional transactions:
    # 120 of 25 runs, no UnprocessedItems; a transaction replayed after a lost answer knows itself)
    assert set(faults.faults) == set(ALL_KINDS)
    assert sum(faults.faults.values()) >= 30
    assert faults.calls["TransactWriteItems"] >= 120
    stored = {
        (run.run_id, run.pipeline_id): run
        for run in (PipelineRunLog.from_dynamodb_item(item) for item in scan_all(registry, "pipeline_run_logs"))
    }
    assert len(stored) == 3000
    for data in runs:
        run = stored[(data["run_id"], data["pipeline_id"])]
        assert (run.status, run.try_number, run.start_time, run.end_time) == (
            data["status"],
            data["try_number"],
            data["start_time"],
            data["end_time"],
        )
        assert run.metrics == data["metrics"]
        assert run.error_message == data["error_message"]
        assert run.is_running is (True if data["status"] is RunStatus.RUNNING else None)


def test_2000_table_configs_survive_faults_and_a_second_pass_advances_only_changed_versions(
    make_registry: RegistryFactory,
) -> None:
    registry = make_registry(max_attempts=10)
    faults = FaultInjector(registry.client, rate=0.3, seed=2000, unprocessed_rate=0.3)
    tables = [table_config(i) for i in range(2000)]

    first = registry.tables_write.batch_upsert(tables)
    assert first.ok, first.failed[:3]
    assert len(first.written) == 2000
    # second pass: 500 changed, 1500 identical (unchanged items are skipped, not rewritten)
    second_input = [table_config(i, location_suffix="_v2" if i % 4 == 0 else "") for i in range(2000)]
    second = registry.tables_write.batch_upsert(second_input)

    faults.remove()
    assert second.ok, second.failed[:3]
    assert (len(second.written), len(second.unchanged)) == (500, 1500)
    # config batches are transactions (conditional on the version read): no UnprocessedItems
    # (80 transactions of 25 items per pass, as many calls as BatchWriteItem's chunks)
    assert faults.calls["TransactWriteItems"] >= 160
    assert sum(faults.faults.values()) >= 30
    assert faults.faults["lost_response"] >= 1  # a transaction replayed after its answer was lost
    stored = {t.table_id: t for t in map(TableConfig.from_dynamodb_item, scan_all(registry, "table_config"))}
    assert len(stored) == 2000
    for i, data in enumerate(second_input):
        table = stored[data["table_id"]]
        assert table.location == data["location"]
        assert table.version == (2 if i % 4 == 0 else 1)
        assert (table.pipeline_id, table.format.value, table.options) == (
            data["pipeline_id"],
            data["format"],
            data["options"],
        )


def test_single_creates_either_succeed_and_are_stored_or_raise_retryable_and_are_not(
    make_registry: RegistryFactory,
) -> None:
    # faults that DynamoDB did not apply: a RetryableError then means "nothing was written"
    registry = make_registry(max_attempts=3)
    faults = FaultInjector(registry.client, rate=0.3, seed=7, kinds=("throttle", "server_error", "reset"))
    outcomes: dict[str, str] = {}
    table = registry.config.table_name("pipeline_config")
    for i in range(300):
        pipeline_id = f"pipeline_{i:03d}"
        try:
            created = registry.pipelines_write.create({"pipeline_id": pipeline_id, "name": f"P {i}"})
        except RetryableError as exc:
            context = (exc.operation, exc.table, exc.key)
            outcomes[pipeline_id] = "retryable"
            assert context == ("put_item", table, {"pipeline_id": pipeline_id})
        else:
            assert created.version == 1
            outcomes[pipeline_id] = "ok"
    faults.remove()

    gave_up = sorted(p for p, outcome in outcomes.items() if outcome == "retryable")
    assert 1 <= len(gave_up) <= 30  # ~0.3**3 of 300: the bounded retries do run out sometimes
    stored = {item["pipeline_id"]["S"]: decode_item(item) for item in scan_all(registry, "pipeline_config")}
    assert sorted(stored) == sorted(p for p, outcome in outcomes.items() if outcome == "ok")
    assert {item["version"] for item in stored.values()} == {1}


def test_run_lifecycle_under_faults_including_replayed_writes_ends_exactly_as_reported(
    make_registry: RegistryFactory,
) -> None:
    # lost responses make the gateway replay an already applied start/heartbeat/finish: the
    # lifecycle's idempotence (same-try start and same end are no-ops) must absorb the replay
    registry = make_registry(max_attempts=8)
    # no throttling here (its 1 s backoff base only slows the test): replays are the point
    faults = FaultInjector(registry.client, rate=0.25, seed=99, kinds=("server_error", "reset", "lost_response"))
    api = registry.runs_write
    reported: dict[str, RunStatus] = {}
    for i in range(120):
        run_id, end = f"run-{i:03d}", STATUSES[i % 3]
        try:
            started = api.start({"run_id": run_id, "pipeline_id": "p", "try_number": 2, "start_time": T0})
            assert (started.status, started.try_number, started.start_time) == (RunStatus.RUNNING, 2, T0)
            api.heartbeat(run_id, "p", metrics={"rows": i})
            finished = api.finish({"run_id": run_id, "pipeline_id": "p", "status": end, "try_number": 2})
            assert finished.status is end
            reported[run_id] = end
        except RetryableError:
            # allowed: the bounded retries ran out, or botocore's retry quota did (500 units, 14
            # per retry, refunded on success: a fault rate far beyond production's drains it, and
            # the client then stops retrying until successes refill it)
            continue
    faults.remove()

    assert faults.faults["lost_response"] >= 10
    assert len(reported) >= 90
    runs = {run.run_id: run for run in map(PipelineRunLog.from_dynamodb_item, scan_all(registry, "pipeline_run_logs"))}
    for run_id, status in reported.items():
        run = runs[run_id]
        assert (run.status, run.try_number, run.is_running) == (status, 2, None)
        assert run.metrics == {"rows": int(run_id.split("-")[1])}


@pytest.mark.parametrize("kind", ["throttle", "server_error", "reset", "lost_response"])
def test_a_fault_on_every_call_raises_retryable_after_exactly_max_attempts(
    make_registry: RegistryFactory, kind: str
) -> None:
    registry = make_registry(max_attempts=4)
    registry.pipelines_write.create({"pipeline_id": "existing", "name": "E"})
    registry.runs_write.start({"run_id": "r", "pipeline_id": "p"})
    faults = FaultInjector(registry.client, rate=1.0, seed=1, kinds=(kind,))
    expected_type = RegistryConnectionError if kind in {"reset", "lost_response"} else RetryableError

    calls: list[tuple[str, Callable[[], Any]]] = [
        ("PutItem", lambda: registry.pipelines_write.create({"pipeline_id": "new", "name": "N"})),
        ("UpdateItem", lambda: registry.pipelines_write.update("existing", {"owner": "me"}, expected_version=1)),
        ("UpdateItem", lambda: registry.runs_write.finish({"run_id": "r", "pipeline_id": "p", "status": "SUCCESS"})),
        ("GetItem", lambda: registry.pipelines.get_by_id("existing")),
        ("Query", lambda: registry.runs.list_by_pipeline("p")),
    ]
    for operation, call in calls:
        before = faults.calls[operation]
        with pytest.raises(expected_type) as caught:
            call()
        assert faults.calls[operation] - before == 4, operation
        assert "after 4 attempts" in caught.value.message

    # a batch is never raised mid-way: every item it could not write is reported
    report = registry.runs_write.batch_upsert(
        [{"run_id": f"b{i}", "pipeline_id": "p", "status": "SUCCESS", "start_time": T0} for i in range(30)]
    )
    assert report.written == []
    assert sorted(f["key"]["run_id"] for f in report.failed) == sorted(f"b{i}" for i in range(30))
    faults.remove()

    # what stayed stored: the pre-existing items, unchanged, except where a lost response
    # means the write reached DynamoDB (it was applied, only its answer was lost)
    applied = kind == "lost_response"
    assert (registry.pipelines.find_entity("new", consistent=True) is not None) is applied
    existing = registry.pipelines.get_by_id("existing", consistent=True)
    assert existing.owner == ("me" if applied else "unknown")
    run = registry.runs.get_by_id("r", "p", consistent=True)
    assert run.status is (RunStatus.SUCCESS if applied else RunStatus.RUNNING)


def test_replayed_conditional_create_after_a_lost_response_reports_the_create(
    make_registry: RegistryFactory,
) -> None:
    # A create whose response was lost is retried by botocore and finds its own item (its write
    # token): the registry reports the create (never a second write over it, never a conflict).
    registry = make_registry(max_attempts=3)
    faults = FaultInjector(
        registry.client, rate=1.0, seed=3, kinds=("lost_response",), operations=["PutItem"], max_faults=1
    )
    created = registry.pipelines_write.create({"pipeline_id": "once", "name": "Once"})
    faults.remove()
    assert faults.calls["PutItem"] == 2
    assert (created.name, created.version) == ("Once", 1)
    assert registry.pipelines.get_by_id("once", consistent=True).version == 1
    # a second create of the same id (another write, another token) is still a conflict
    with pytest.raises(ConflictError, match="already exists"):
        registry.pipelines_write.create({"pipeline_id": "once", "name": "Twice"})

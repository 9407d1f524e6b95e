"""Run logs beside other writers: items written by other versions and tools, a replay after another
writer's write, and a global table's write conflict (issue 21, items 4, 6 and 7).

On DynamoDB Local, moto server and dynalite (the emulator tier runs tests/integration). Items "as
another tool or the previous released version stored them" are written with the plain boto3
client: the previous released layout is the one before attempts existed (its start is reproduced
below from that version's ``PipelineRunLogsWriteApi.start``). Faults are injected at the HTTP layer
(botocore event hooks, ``reliability_faults``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ReadTimeoutError
from botocore.httpsession import URLLib3Session
from reliability.reliability_faults import FaultInjector

from airflow_provider_pipeline_registry.registry import (
    AttemptConflictError,
    AttemptSupersededError,
    ConflictError,
    DynamoDBConfig,
    PipelineRunLogger,
    Registry,
    RetryableError,
    RunStatus,
)
from airflow_provider_pipeline_registry.registry.timezones import utc_now

pytestmark = pytest.mark.integration

MAX_ATTEMPTS = 3
T0 = datetime(2026, 3, 8, 6, 59, 30, 123456, tzinfo=UTC)


@pytest.fixture
def registry(make_registry: Callable[..., Registry]) -> Registry:
    return make_registry(max_attempts=MAX_ATTEMPTS, base_backoff_seconds=0.001, max_backoff_seconds=0.01)


@pytest.fixture
def other_writer(registry: Registry) -> Registry:
    """Another process writing the same tables (its own client: no injected fault reaches it)."""
    return Registry(DynamoDBConfig(**{**registry.config.model_dump(), "max_attempts": MAX_ATTEMPTS}))


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def stamp(value: datetime) -> str:
    """The storage format of every version: UTC, fixed width, microseconds, ``Z``."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def table(registry: Registry) -> str:
    return registry.config.table_name("pipeline_run_logs")  # type: ignore[arg-type]


def raw_run(registry: Registry, run_id: str, pipeline_id: str = "p") -> dict[str, Any]:
    return registry.client.get_item(  # type: ignore[no-any-return]
        TableName=table(registry),
        Key={"run_id": {"S": run_id}, "pipeline_id": {"S": pipeline_id}},
        ConsistentRead=True,
    ).get("Item", {})


def put_foreign_running_run(registry: Registry, run_id: str, **extra: dict[str, Any]) -> None:
    """A RUNNING run as another tool (or an older version) stores it: no ``metrics`` map."""
    item = {
        "run_id": {"S": run_id},
        "pipeline_id": {"S": "p"},
        "status": {"S": "RUNNING"},
        "try_number": {"N": "1"},
        "start_time": {"S": stamp(utc_now())},
        "heartbeat_at": {"S": stamp(utc_now())},
        "is_running": {"S": "true"},
        **extra,
    }
    registry.client.put_item(TableName=table(registry), Item=item)


def previous_release_start(registry: Registry, run_id: str, try_number: int, at: datetime) -> None:
    """``start`` of the previous released version (before attempts): one UpdateItem that knows
    nothing of ``attempt_id``/``attempts``/``attempt_claimed`` and leaves them as they are."""
    registry.client.update_item(
        TableName=table(registry),
        Key={"run_id": {"S": run_id}, "pipeline_id": {"S": "p"}},
        UpdateExpression=(
            "SET #status = :status, #try = :try, #start = :start, #beat = :start, #running = :running, "
            "#metrics = :metrics, #updated = :updated REMOVE #end, #etype, #emsg"
        ),
        ConditionExpression="attribute_not_exists(#run_id) OR #try < :try",
        ExpressionAttributeNames={
            "#status": "status",
            "#try": "try_number",
            "#start": "start_time",
            "#beat": "heartbeat_at",
            "#running": "is_running",
            "#metrics": "metrics",
            "#updated": "updated_at",
            "#end": "end_time",
            "#etype": "error_type",
            "#emsg": "error_message",
            "#run_id": "run_id",
        },
        ExpressionAttributeValues={
            ":status": {"S": "RUNNING"},
            ":try": {"N": str(try_number)},
            ":start": {"S": stamp(at)},
            ":running": {"S": "true"},
            ":metrics": {"M": {}},
            ":updated": {"S": stamp(utc_now())},
        },
    )


# -- item 6: runs stored without a metrics map ---------------------------------------------------
def test_a_run_stored_without_metrics_takes_heartbeats_and_an_end_with_metrics(registry: Registry) -> None:
    run_id = new_id("foreign")
    put_foreign_running_run(registry, run_id)
    api = registry.runs_write
    assert api.heartbeat(run_id, "p", metrics={"rows": 1}).metrics == {"rows": 1}
    assert api.heartbeat(run_id, "p", metrics={"bytes": 8}).metrics == {"rows": 1, "bytes": 8}  # merged
    other = new_id("foreign")
    put_foreign_running_run(registry, other)
    ended = api.finish({"run_id": other, "pipeline_id": "p", "status": "SUCCESS", "metrics": {"rows": 5}})
    assert (ended.status, ended.metrics, ended.is_running) == (RunStatus.SUCCESS, {"rows": 5}, None)


def test_a_run_stored_without_metrics_refuses_a_late_end_as_before(registry: Registry) -> None:
    """The whole-map form keeps the fence: an ended run without a map is not reopened or changed."""
    run_id = new_id("foreign")
    put_foreign_running_run(registry, run_id, status={"S": "FAILED"}, end_time={"S": stamp(T0)})
    with pytest.raises(ConflictError, match="already ended as FAILED"):
        registry.runs_write.heartbeat(run_id, "p", metrics={"rows": 1})
    assert "metrics" not in raw_run(registry, run_id)


@pytest.mark.parametrize("write", ["heartbeat", "finish"])
def test_the_whole_map_write_replayed_after_a_lost_response_is_applied_once(registry: Registry, write: str) -> None:
    """The second form (the whole map, on a run stored without one) replayed by botocore finds the
    map it created and reports the write; a heartbeat in between is merged, not lost (or refused,
    after the end)."""
    run_id = new_id("foreign")
    put_foreign_running_run(registry, run_id)
    api = registry.runs_write
    refused: list[ConflictError] = []

    def heartbeat_in_between() -> None:
        try:
            api.heartbeat(run_id, "p", metrics={"other": 1})  # another writer (the hook fires once)
        except ConflictError as exc:
            refused.append(exc)

    hook = LostResponseThenAnotherWriter(registry, "UpdateItem", heartbeat_in_between, nth=2)
    try:
        if write == "heartbeat":
            run = api.heartbeat(run_id, "p", metrics={"rows": 2})
        else:
            run = api.finish({"run_id": run_id, "pipeline_id": "p", "status": "SUCCESS", "metrics": {"rows": 2}})
    finally:
        hook.remove()
    assert hook.fired == 1
    if write == "heartbeat":
        assert (run.status, run.metrics, refused) == (RunStatus.RUNNING, {"rows": 2, "other": 1}, [])
    else:
        assert (run.status, run.metrics, len(refused)) == (RunStatus.SUCCESS, {"rows": 2}, 1)
    assert run == registry.runs.find_entity(run_id, "p", consistent=True)


def test_the_logger_flushes_and_ends_a_run_opened_without_metrics(registry: Registry) -> None:
    run_id = new_id("foreign")
    put_foreign_running_run(registry, run_id)  # opened by another tool; the driver joins it
    with PipelineRunLogger(
        pipeline_id="p", run_id=run_id, registry=registry, heartbeat_interval=3600, handle_sigterm=False
    ) as run:
        run.add_metric("rows_read", 10)
        flushed = run.flush()
        assert flushed is not None
        assert flushed.metrics == {"rows_read": 10}
        run.add_metric("rows_written", 7)
    stored = registry.runs.find_entity(run_id, "p", consistent=True)
    assert stored is not None
    assert (stored.status, stored.metrics) == (RunStatus.SUCCESS, {"rows_read": 10, "rows_written": 7})


# -- item 6: attributes this version does not know --------------------------------------------
def test_runs_batch_upsert_keeps_attributes_this_version_does_not_know(registry: Registry) -> None:
    run_id = new_id("imported")
    api = registry.runs_write
    run = {"run_id": run_id, "pipeline_id": "p", "status": "RUNNING", "start_time": T0}
    api.batch_upsert([run])
    registry.client.update_item(  # a newer version (or another tool) adds its own attributes
        TableName=table(registry),
        Key={"run_id": {"S": run_id}, "pipeline_id": {"S": "p"}},
        UpdateExpression="SET lineage_ref = :ref, cost = :cost",
        ExpressionAttributeValues={":ref": {"S": "ol-123"}, ":cost": {"M": {"usd": {"N": "1.5"}}}},
    )
    report = api.batch_upsert([{**run, "status": "SUCCESS", "end_time": T0 + timedelta(minutes=1)}])
    assert report.written == [f"{run_id}/p"]
    stored = raw_run(registry, run_id)
    assert stored["status"] == {"S": "SUCCESS"}
    assert (stored["lineage_ref"], stored["cost"]) == ({"S": "ol-123"}, {"M": {"usd": {"N": "1.5"}}})


# -- item 6: a start of the previous released version -----------------------------------------
def test_a_zombie_of_an_attempt_replaced_by_a_previous_release_start_is_refused(registry: Registry) -> None:
    run_id = new_id("mixed")
    api = registry.runs_write
    opened = api.start({"run_id": run_id, "pipeline_id": "p", "task_id": "start", "try_number": 1})
    zombie = "z" * 32
    joined = api.join(
        {"run_id": run_id, "pipeline_id": "p", "task_id": "spark", "try_number": 1, "attempt_id": zombie},
        opened_attempt_id=opened.attempt_id,
    )
    assert joined.attempt_id == zombie
    # the Airflow retry runs the previous released version: it starts try 2 over the same item
    previous_release_start(registry, run_id, 2, utc_now())
    assert raw_run(registry, run_id)["attempt_id"] == {"S": zombie}  # left behind by that version
    with pytest.raises(AttemptSupersededError):
        api.heartbeat(run_id, "p", metrics={"rows": 666}, attempt_id=zombie)
    with pytest.raises(AttemptSupersededError):
        api.finish({"run_id": run_id, "pipeline_id": "p", "status": "FAILED", "attempt_id": zombie})
    with pytest.raises(AttemptConflictError):  # the zombie's driver re-entering
        api.join(
            {"run_id": run_id, "pipeline_id": "p", "task_id": "spark", "try_number": 1, "attempt_id": zombie},
            opened_attempt_id=opened.attempt_id,
        )
    stored = registry.runs.find_entity(run_id, "p", consistent=True)
    assert stored is not None
    assert (stored.status, stored.try_number, stored.metrics) == (RunStatus.RUNNING, 2, {})


def test_a_run_of_the_previous_released_layout_is_joined_and_fenced(registry: Registry) -> None:
    """A run the previous released version opened (no attempt fields) is claimed by today's driver,
    whose heartbeats and end then pass; an older driver of it is refused."""
    run_id = new_id("old")
    previous_release_start(registry, run_id, 1, utc_now())
    api = registry.runs_write
    mine = "m" * 32
    api.join({"run_id": run_id, "pipeline_id": "p", "task_id": "spark", "try_number": 1, "attempt_id": mine})
    assert api.heartbeat(run_id, "p", metrics={"rows": 3}, attempt_id=mine).metrics == {"rows": 3}
    with pytest.raises(AttemptSupersededError):
        api.heartbeat(run_id, "p", attempt_id="o" * 32)
    ended = api.finish({"run_id": run_id, "pipeline_id": "p", "status": "SUCCESS", "attempt_id": mine})
    assert (ended.status, ended.metrics) == (RunStatus.SUCCESS, {"rows": 3})


# -- item 7: ReplicatedWriteConflictException --------------------------------------------------
@pytest.fixture
def inject(registry: Registry) -> Iterator[Callable[..., FaultInjector]]:
    made: list[FaultInjector] = []

    def factory(kind: str, *, operations: list[str], count: int) -> FaultInjector:
        faults = FaultInjector(registry.client, rate=1.0, seed=1, kinds=(kind,), operations=operations)
        faults.max_faults = count
        made.append(faults)
        return faults

    yield factory
    for faults in made:
        faults.remove()


def test_a_replicated_write_conflict_is_retried_by_botocore_then_retryable(
    registry: Registry, inject: Callable[..., FaultInjector]
) -> None:
    run_id = new_id("global")
    registry.runs_write.start({"run_id": run_id, "pipeline_id": "p"})
    faults = inject("replicated_write_conflict", operations=["UpdateItem"], count=MAX_ATTEMPTS)
    with pytest.raises(RetryableError, match="ReplicatedWriteConflictException"):
        registry.runs_write.finish({"run_id": run_id, "pipeline_id": "p", "status": "SUCCESS"})
    # botocore's standard mode retried it (modeled retryable for UpdateItem): one call, 3 attempts
    assert (faults.api_calls["UpdateItem"], faults.calls["UpdateItem"]) == (1, MAX_ATTEMPTS)


def test_the_loggers_end_write_outlives_replicated_write_conflicts(
    registry: Registry, inject: Callable[..., FaultInjector]
) -> None:
    run_id = new_id("global")
    with PipelineRunLogger(
        pipeline_id="p",
        run_id=run_id,
        registry=registry,
        heartbeat_interval=3600,
        end_retry_seconds=30,
        handle_sigterm=False,
    ) as run:
        run.add_metric("rows", 3)
        # more conflicts than one call's botocore attempts: the end outlives a RetryableError too
        faults = inject("replicated_write_conflict", operations=["UpdateItem"], count=MAX_ATTEMPTS + 1)
    assert faults.faults["replicated_write_conflict"] == MAX_ATTEMPTS + 1
    stored = registry.runs.find_entity(run_id, "p", consistent=True)
    assert stored is not None
    assert (stored.status, stored.metrics) == (RunStatus.SUCCESS, {"rows": 3})


# -- item 4: a replay after another writer's write --------------------------------------------
class LostResponseThenAnotherWriter:
    """The next (or the ``nth``) ``operation`` request is applied, then another writer writes
    (``between``), then the response is lost (ReadTimeoutError): botocore replays the request over
    the other writer's write."""

    def __init__(self, registry: Registry, operation: str, between: Callable[[], None], nth: int = 1) -> None:
        self.client = registry.client
        self.operation = operation
        self.between = between
        self.nth = nth
        self.fired = 0
        self.sent = 0
        self._http = URLLib3Session()
        self.client.meta.events.register(f"before-send.dynamodb.{operation}", self, unique_id="runlogs-lost-between")

    def __call__(self, request: Any, **_: Any) -> Any:
        self.sent += 1
        if self.fired or self.sent < self.nth:
            return None
        self.fired += 1
        self._http.send(request)  # applied
        self.between()
        raise ReadTimeoutError(endpoint_url=request.url)

    def remove(self) -> None:
        self.client.meta.events.unregister(f"before-send.dynamodb.{self.operation}", unique_id="runlogs-lost-between")


def test_a_delete_replayed_after_the_run_was_started_again_leaves_the_new_run(
    registry: Registry, other_writer: Registry
) -> None:
    run_id = new_id("del")
    first = registry.runs_write.start({"run_id": run_id, "pipeline_id": "p", "start_time": T0})
    again: list[Any] = []
    hook = LostResponseThenAnotherWriter(
        registry,
        "DeleteItem",
        lambda: again.append(other_writer.runs_write.start({"run_id": run_id, "pipeline_id": "p", "try_number": 1})),
    )
    try:
        deleted = registry.runs_write.delete(run_id, "p")
    finally:
        hook.remove()
    assert hook.sent >= 2  # applied, then replayed by botocore
    assert (deleted.attempt_id, deleted.start_time) == (first.attempt_id, T0)  # what it deleted
    stored = registry.runs.find_entity(run_id, "p", consistent=True)
    assert stored is not None, "the replayed delete removed the run another writer started again"
    assert (stored.attempt_id, stored.status) == (again[0].attempt_id, RunStatus.RUNNING)


def _claim_and_end(other: Registry, run_id: str) -> None:
    """Another writer: the job's driver claims the started attempt, then the run ends."""
    mine = "d" * 32
    other.runs_write.join({"run_id": run_id, "pipeline_id": "p", "task_id": "spark", "attempt_id": mine})
    other.runs_write.finish({"run_id": run_id, "pipeline_id": "p", "status": "SUCCESS", "attempt_id": mine})


def _start_try_2(other: Registry, run_id: str) -> None:
    """Another writer: Airflow's retry starts try 2 over the attempt."""
    other.runs_write.start({"run_id": run_id, "pipeline_id": "p", "try_number": 2})


@pytest.mark.parametrize("between", [_claim_and_end, _start_try_2], ids=["claimed-and-ended", "try-2-started"])
def test_a_start_replayed_after_another_writer_reports_the_run_it_opened(
    registry: Registry, other_writer: Registry, between: Callable[[Registry, str], None]
) -> None:
    run_id = new_id("start")
    opened = "a" * 32
    hook = LostResponseThenAnotherWriter(registry, "UpdateItem", lambda: between(other_writer, run_id))
    try:
        run = registry.runs_write.start({"run_id": run_id, "pipeline_id": "p", "attempt_id": opened})
    finally:
        hook.remove()
    assert hook.sent >= 2  # applied, then replayed by botocore
    stored = registry.runs.find_entity(run_id, "p", consistent=True)
    assert stored is not None
    assert run == stored  # what is stored now, not a refusal of the start it made
    assert opened in stored.attempt_tokens


def test_an_end_replayed_after_a_newer_try_started_reports_the_recorded_end(
    registry: Registry, other_writer: Registry
) -> None:
    run_id = new_id("end")
    first = registry.runs_write.start({"run_id": run_id, "pipeline_id": "p"})
    hook = LostResponseThenAnotherWriter(registry, "UpdateItem", lambda: _start_try_2(other_writer, run_id))
    try:
        run = registry.runs_write.finish(
            {"run_id": run_id, "pipeline_id": "p", "status": "SUCCESS", "attempt_id": first.attempt_id}
        )
    finally:
        hook.remove()
    assert hook.sent >= 2
    assert [(a.attempt_id, a.status) for a in run.attempts] == [(first.attempt_id, "SUCCESS")]
    assert (run.status, run.try_number) == (RunStatus.RUNNING, 2)  # the newer try, untouched


def test_a_heartbeat_replayed_after_the_run_ended_reports_it_was_applied(
    registry: Registry, other_writer: Registry
) -> None:
    run_id = new_id("beat")
    first = registry.runs_write.start({"run_id": run_id, "pipeline_id": "p"})
    end = {"run_id": run_id, "pipeline_id": "p", "status": "SUCCESS", "attempt_id": first.attempt_id}
    hook = LostResponseThenAnotherWriter(registry, "UpdateItem", lambda: other_writer.runs_write.finish(end))
    try:
        run = registry.runs_write.heartbeat(run_id, "p", metrics={"rows": 4}, attempt_id=first.attempt_id)
    finally:
        hook.remove()
    assert hook.sent >= 2
    assert (run.status, run.metrics) == (RunStatus.SUCCESS, {"rows": 4})
    assert run == registry.runs.find_entity(run_id, "p", consistent=True)
    with pytest.raises(ConflictError, match="already ended as SUCCESS"):  # a new heartbeat is refused
        registry.runs_write.heartbeat(run_id, "p", metrics={"rows": 5}, attempt_id=first.attempt_id)

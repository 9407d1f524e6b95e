"""Transport faults, replays and stored items that do not validate, at the HTTP layer on a REAL
DynamoDB Local (botocore event hooks, see ``reliability_faults``).

What must hold, for every write of the three domains:

* a proxy's code-less 502/504, a 429 and throttling are retried by botocore's retry handler
  (inside the client call, counted per attempt in ``before-send``); sustained throttling is given
  up after exactly ``max_attempts`` attempts as ``RetryableError``;
* a write applied by DynamoDB whose response was lost (botocore retries it) reports success with
  the stored result and bumps ``version`` once, also where the implementation omits the stored
  item on a failed condition (dynalite);
* an item holding only its keys, read or written through any API, is our ``ValidationError``
  (``CorruptItemError``), never pydantic's.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pydantic
import pytest
from reliability_faults import FaultInjector
from reliability_helpers import Domain, registry_on

from airflow_provider_pipeline_registry.registry import (
    ConflictError,
    PipelineRunLogger,
    Registry,
    RetryableError,
    RunStatus,
    ValidationError,
)
from airflow_provider_pipeline_registry.registry.errors import CorruptItemError
from airflow_provider_pipeline_registry.sensors.run_state import FATAL_READ_ERRORS, read_run_state

pytestmark = pytest.mark.integration

MAX_ATTEMPTS = 3
T0 = datetime(2026, 3, 8, 6, 59, 30, 123456, tzinfo=UTC)
FAULTS = ["lost_response", "lost_response_no_old_item", "proxy_502", "proxy_504", "too_many_requests"]
WRITE_OPERATIONS = ["PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"]


@pytest.fixture(scope="module")
def registry(dynamodb_endpoint: str) -> Registry:
    """One registry (tables created once) for the module; every test uses its own ids."""
    return registry_on(dynamodb_endpoint, f"t{uuid.uuid4().hex[:10]}_", max_attempts=MAX_ATTEMPTS)


@pytest.fixture
def inject(registry: Registry) -> Iterator[Callable[..., FaultInjector]]:
    """``inject(kind, operations=..., count=1)``: the next ``count`` calls of ``operations`` fail."""
    made: list[FaultInjector] = []

    def factory(kind: str, *, operations: list[str] | None = None, count: int = 1) -> FaultInjector:
        omit = kind == "lost_response_no_old_item"
        faults = FaultInjector(
            registry.client,
            rate=1.0,
            seed=1,
            kinds=("lost_response",) if omit else (kind,),
            operations=operations or WRITE_OPERATIONS,
            max_faults=count,
            omit_old_item=omit,
        )
        made.append(faults)
        return faults

    yield factory
    for faults in made:
        faults.remove()


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


# -- config writes ----------------------------------------------------------------------------
Write = Callable[[Any, dict[str, Any], str], tuple[Any, int | None]]
#: write -> (needs an existing item, call(api, dto, id) -> (result, the version stored afterwards;
#: None: deleted))
CONFIG_WRITES: dict[str, tuple[bool, Write]] = {
    "create": (False, lambda api, dto, item_id: (api.create(dto), 1)),
    "upsert_new": (False, lambda api, dto, item_id: (api.upsert(dto), 1)),
    "upsert_expected_0": (False, lambda api, dto, item_id: (api.upsert(dto, expected_version=0), 1)),
    "batch_upsert": (False, lambda api, dto, item_id: (api.batch_upsert([dto]), 1)),
    "update_versioned": (
        True,
        lambda api, dto, item_id: (api.update(item_id, {"description": "x"}, expected_version=1), 2),
    ),
    "update": (True, lambda api, dto, item_id: (api.update(item_id, {"description": "x"}), 2)),
    "upsert_existing": (True, lambda api, dto, item_id: (api.upsert({**dto, "description": "x"}), 2)),
    "upsert_versioned": (
        True,
        lambda api, dto, item_id: (api.upsert({**dto, "description": "x"}, expected_version=1), 2),
    ),
    "delete_versioned": (True, lambda api, dto, item_id: (api.delete(item_id, expected_version=1), None)),
    "delete": (True, lambda api, dto, item_id: (api.delete(item_id), None)),
}


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("write", CONFIG_WRITES)
@pytest.mark.parametrize("kind", ["pipelines", "tables"])
def test_a_config_write_survives_the_fault_and_reports_the_truth_once(
    registry: Registry, inject: Callable[..., FaultInjector], kind: str, write: str, fault: str
) -> None:
    domain = Domain(registry, kind)
    item_id = new_id(kind)
    needs_existing, call = CONFIG_WRITES[write]
    if needs_existing:
        domain.write.create(domain.dto(item_id))
    faults = inject(fault)

    result, version = call(domain.write, domain.dto(item_id), item_id)

    faults.remove()
    assert sum(faults.faults.values()) == 1, "the fault was injected"
    # (an upsert creating its item makes two calls: the first finds no token map to add to)
    retried = [op for op in WRITE_OPERATIONS if faults.calls[op] == faults.api_calls[op] + 1]
    assert retried, "and the write was sent twice, by botocore, inside one client call"
    assert domain.stored_version(item_id) == version
    if write == "batch_upsert":
        assert (result.written, result.failed) == ([item_id], [])
        return
    # the result is what is stored: the written entity, or (delete) the entity that was deleted
    assert getattr(result, domain.id_field) == item_id
    assert result.version == (version if version is not None else 1)
    if write.startswith(("update", "upsert_existing", "upsert_versioned")):
        assert result.description == "x"
    stored = domain.read.find_by_id(item_id, consistent=True)
    if version is None:
        assert stored is None
    else:
        assert stored is not None
        assert (stored.version, stored.updated_at) == (result.version, result.updated_at)
        # the write token is bookkeeping: neither the entity nor the view shows it
        assert "write_token" not in stored.model_dump()
        assert "write_token" not in result.model_dump()


def test_a_conflict_without_the_stored_item_is_confirmed_not_reported_as_not_found(
    registry: Registry, inject: Callable[..., FaultInjector]
) -> None:
    item_id = new_id("p")
    registry.pipelines_write.create({"pipeline_id": item_id, "name": "A"})
    registry.pipelines_write.update(item_id, {"owner": "me"})
    faults = FaultInjector(registry.client, rate=0.0, seed=1, omit_old_item=True)
    try:
        with pytest.raises(ConflictError, match="at version 2, not the expected version 1") as stale:
            registry.pipelines_write.update(item_id, {"owner": "x"}, expected_version=1)
        assert stale.value.current is not None
        assert stale.value.current["version"] == 2
        with pytest.raises(ConflictError, match="already exists"):
            registry.pipelines_write.create({"pipeline_id": item_id, "name": "B"})
        run_id = new_id("r")
        registry.runs_write.start({"run_id": run_id, "pipeline_id": "p"})
        registry.runs_write.finish({"run_id": run_id, "pipeline_id": "p", "status": "SUCCESS"})
        with pytest.raises(ConflictError, match="already ended as SUCCESS"):
            registry.runs_write.finish({"run_id": run_id, "pipeline_id": "p", "status": "FAILED"})
    finally:
        faults.remove()
    assert faults.calls["GetItem"] >= 3  # one consistent read per failed condition


# -- run-log writes (today's API) ---------------------------------------------------------------
RUN_FAULTS = ["lost_response", "proxy_502", "proxy_504", "too_many_requests"]
RUN_CASES = [
    (write, fault) for write in ("start", "heartbeat", "finish", "delete", "batch_upsert") for fault in RUN_FAULTS
]


@pytest.mark.parametrize(("write", "fault"), RUN_CASES)
def test_a_run_write_survives_the_fault(
    registry: Registry, inject: Callable[..., FaultInjector], write: str, fault: str
) -> None:
    api = registry.runs_write
    run_id = new_id("run")
    start = {"run_id": run_id, "pipeline_id": "p", "try_number": 1, "start_time": T0}
    if write != "start" and write != "batch_upsert":
        api.start(start)
    faults = inject(fault)
    if write == "start":
        result = api.start(start)
        assert (result.status, result.try_number) == (RunStatus.RUNNING, 1)
    elif write == "heartbeat":
        result = api.heartbeat(run_id, "p", metrics={"rows": 7})
        assert result.metrics == {"rows": 7}
    elif write == "finish":
        result = api.finish({"run_id": run_id, "pipeline_id": "p", "status": "SUCCESS", "try_number": 1})
        assert result.status is RunStatus.SUCCESS
    elif write == "delete":
        deleted = api.delete(run_id, "p")  # after a lost response: still the run it deleted
        assert (deleted.run_id, deleted.status) == (run_id, RunStatus.RUNNING)
    else:
        report = api.batch_upsert([{**start, "status": "SUCCESS", "end_time": T0}])
        assert (report.written, report.failed) == ([f"{run_id}/p"], [])
    faults.remove()
    assert sum(faults.faults.values()) == 1
    assert sum(faults.calls[op] for op in WRITE_OPERATIONS) == sum(faults.api_calls[op] for op in WRITE_OPERATIONS) + 1
    run = registry.runs.find_entity(run_id, "p", consistent=True)
    if write == "delete":
        assert run is None
    else:
        assert run is not None
        expected = RunStatus.SUCCESS if write in {"finish", "batch_upsert"} else RunStatus.RUNNING
        assert run.status is expected


def test_the_loggers_end_write_is_recorded_through_proxy_502s(
    registry: Registry, inject: Callable[..., FaultInjector]
) -> None:
    run_id = new_id("job")
    with PipelineRunLogger(
        pipeline_id="p", run_id=run_id, registry=registry, heartbeat_interval=3600, end_retry_seconds=30
    ) as run:
        run.add_metric("rows", 3)
        # more 502s than one call's botocore attempts: the end outlives a RetryableError too
        faults = inject("proxy_502", operations=["UpdateItem"], count=MAX_ATTEMPTS + 1)
    faults.remove()
    assert faults.faults["proxy_502"] == MAX_ATTEMPTS + 1
    stored = registry.runs.find_entity(run_id, "p", consistent=True)
    assert stored is not None
    assert (stored.status, stored.metrics) == (RunStatus.SUCCESS, {"rows": 3})


# -- sustained throttling -----------------------------------------------------------------------
@pytest.mark.parametrize("write", ["create", "finish"])
def test_sustained_throttling_is_retried_for_botocores_budget_then_retryable(
    registry: Registry, inject: Callable[..., FaultInjector], write: str
) -> None:
    run_id, pipeline_id = new_id("run"), new_id("p")
    if write == "finish":
        registry.runs_write.start({"run_id": run_id, "pipeline_id": "p"})
    operation = "PutItem" if write == "create" else "UpdateItem"

    def call() -> Any:
        if write == "create":
            return registry.pipelines_write.create({"pipeline_id": pipeline_id, "name": "N"})
        return registry.runs_write.finish({"run_id": run_id, "pipeline_id": "p", "status": "SUCCESS"})

    # throttled for every one of botocore's attempts: RetryableError, nothing written
    faults = inject("throttle", operations=[operation], count=MAX_ATTEMPTS)
    with pytest.raises(RetryableError, match=f"after {MAX_ATTEMPTS} attempts") as info:
        call()
    # every attempt went out inside ONE client call: botocore's retry handler did the retrying
    assert (faults.calls[operation], faults.api_calls[operation]) == (MAX_ATTEMPTS, 1)
    assert info.value.operation == operation.replace("Item", "_item").lower()
    faults.remove()
    if write == "create":
        assert registry.pipelines.find_entity(pipeline_id, consistent=True) is None
    else:
        assert registry.runs.get_by_id(run_id, "p", consistent=True).status is RunStatus.RUNNING
    # throttled for all but the last attempt: it succeeds within the same call
    faults = inject("throttle", operations=[operation], count=MAX_ATTEMPTS - 1)
    call()
    assert (faults.calls[operation], faults.api_calls[operation]) == (MAX_ATTEMPTS, 1)


def test_the_sensor_read_retries_transient_faults_within_its_budget(
    registry: Registry, inject: Callable[..., FaultInjector]
) -> None:
    run_id = new_id("run")
    registry.runs_write.start({"run_id": run_id, "pipeline_id": "p"})
    for kind in ("proxy_502", "proxy_504", "too_many_requests", "reset"):
        faults = inject(kind, operations=["GetItem"], count=MAX_ATTEMPTS - 1)
        snapshot = read_run_state(registry.runs, pipeline_id="p", run_id=run_id)
        faults.remove()
        assert snapshot is not None
        assert snapshot.status == "RUNNING"
        assert faults.calls["GetItem"] == MAX_ATTEMPTS, kind
    faults = inject("proxy_502", operations=["GetItem"], count=MAX_ATTEMPTS)
    with pytest.raises(RetryableError) as info:
        read_run_state(registry.runs, pipeline_id="p", run_id=run_id)
    assert not isinstance(info.value, FATAL_READ_ERRORS)  # the sensor waits and looks again


# -- stored items that do not validate ----------------------------------------------------------
def keys_only(registry: Registry, logical: str, key: dict[str, str]) -> None:
    """What a plain ``UpdateItem ... REMOVE`` on a missing key does: an item holding only its keys."""
    registry.client.update_item(
        TableName=registry.config.table_name(logical),  # type: ignore[arg-type]
        Key={k: {"S": v} for k, v in key.items()},
        UpdateExpression="REMOVE #x",
        ExpressionAttributeNames={"#x": "anything"},
    )


def expect_corrupt(call: Callable[[], Any], key: dict[str, str]) -> None:
    """``call`` raises our CorruptItemError (a ValidationError) naming table and key; a leaked
    ``pydantic.ValidationError`` (the old defect) would propagate and fail the test."""
    with pytest.raises(CorruptItemError) as info:
        call()
    assert isinstance(info.value, ValidationError)
    assert not isinstance(info.value, pydantic.ValidationError)
    assert info.value.key == key
    assert info.value.table is not None
    assert info.value.errors


@pytest.mark.parametrize("kind", ["pipelines", "tables"])
def test_a_config_item_holding_only_its_keys_is_our_validation_error_through_every_api(
    registry: Registry, kind: str
) -> None:
    domain = Domain(registry, kind)
    item_id = new_id(kind)
    key = {domain.id_field: item_id}
    keys_only(registry, "pipeline_config" if kind == "pipelines" else "table_config", key)
    read, write = domain.read, domain.write
    calls: list[Callable[[], Any]] = [
        lambda: read.find_by_id(item_id, consistent=True),
        lambda: read.get_by_id(item_id),
        lambda: read.find_entity(item_id, consistent=True),
        lambda: read.get_many([item_id]),
        lambda: read.list_all(limit=1000),
        lambda: list(read.iter_all()),
        lambda: write.create(domain.dto(item_id)),
        lambda: write.update(item_id, {"description": "x"}),
        lambda: write.update(item_id, {"description": "x"}, expected_version=1),
        lambda: write.upsert(domain.dto(item_id), expected_version=0),
        lambda: write.upsert(domain.dto(item_id), expected_version=1),
        lambda: write.delete(item_id),
        lambda: write.batch_upsert([domain.dto(item_id)]),
    ]
    for call in calls:
        expect_corrupt(call, key)
    # none of those writes changed it; an unversioned upsert writes every field: it repairs it
    repaired = write.upsert(domain.dto(item_id))
    assert repaired.version == 1
    assert read.get_by_id(item_id, consistent=True).version == 1


def test_a_run_log_holding_only_its_keys_is_our_validation_error_through_every_api(registry: Registry) -> None:
    run_id = new_id("run")
    key = {"run_id": run_id, "pipeline_id": "p"}
    keys_only(registry, "pipeline_run_logs", key)
    runs, api = registry.runs, registry.runs_write
    calls: list[Callable[[], Any]] = [
        lambda: runs.find_by_id(run_id, "p", consistent=True),
        lambda: runs.get_by_id(run_id, "p", consistent=True),
        lambda: runs.find_entity(run_id, "p", consistent=True),
        lambda: api.start({"run_id": run_id, "pipeline_id": "p", "try_number": 1}),
        lambda: api.heartbeat(run_id, "p", metrics={"rows": 1}),
        lambda: api.finish({"run_id": run_id, "pipeline_id": "p", "status": "SUCCESS"}),
        lambda: api.cancel(run_id, "p", reason="stop"),
    ]
    for call in calls:
        expect_corrupt(call, key)

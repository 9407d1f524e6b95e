"""Ending a run from Airflow: the ONE policy of ``EndPipelineRunOperator`` and the end notifiers.

The pure decision (``registry.run_logs.ending.decide_end``) row by row, then ``end_run`` (the
reads, the bounded wait and the fenced write) against DynamoDB Local, with its clock and sleep
injected so that a wait is counted, not timed.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from airflow_provider_pipeline_registry.registry import DynamoDBConfig, Registry
from airflow_provider_pipeline_registry.registry.errors import ConflictError, ItemNotFoundError, ValidationError
from airflow_provider_pipeline_registry.registry.run_logs.ending import (
    EndOutcome,
    EndStep,
    RunEnd,
    decide_end,
    end_run,
    parse_end_status,
)
from airflow_provider_pipeline_registry.registry.run_logs.models import PipelineRunLog, RunStart
from airflow_provider_pipeline_registry.registry.run_logs.status import RunStatus

NOW = datetime(2026, 3, 8, 7, 0, tzinfo=UTC)
LEASE = timedelta(minutes=5)


def seen(
    status: str = "RUNNING",
    *,
    attempt: str | None = "A",
    claimed: bool | None = None,
    beat_age: timedelta | None = timedelta(seconds=30),
    try_number: int = 1,
    attempt_try: int | None = None,
) -> PipelineRunLog:
    return PipelineRunLog.model_validate(
        {
            "run_id": "r1",
            "pipeline_id": "p1",
            "status": status,
            "try_number": try_number,
            "task_id": "spark_job",
            "start_time": NOW - timedelta(minutes=20),
            "heartbeat_at": NOW - beat_age if beat_age is not None else None,
            "end_time": NOW - timedelta(minutes=1) if status != "RUNNING" else None,
            "attempt_id": attempt,
            "attempt_try_number": attempt_try if attempt_try is not None else (try_number if attempt else None),
            "attempt_claimed": claimed,
        }
    )


S, F, C = RunStatus.SUCCESS, RunStatus.FAILED, RunStatus.CANCELLED
ALIVE, OLD = timedelta(seconds=30), timedelta(minutes=6)

#: (why, the run as read, the verdict, wait budget left) -> (step, fenced on)
ROWS: list[tuple[str, PipelineRunLog | None, RunStatus, bool, EndStep, str | None]] = [
    ("no run: never started", None, S, True, EndStep.NEVER_STARTED, None),
    ("ended as the verdict: a duplicate", seen("SUCCESS"), S, True, EndStep.ALREADY_ENDED, None),
    ("FAILED twice: a duplicate", seen("FAILED"), F, True, EndStep.ALREADY_ENDED, None),
    ("ended FAILED, verdict SUCCESS: the stored end wins", seen("FAILED"), S, True, EndStep.ENDED_OTHERWISE, None),
    ("the driver's CANCELLED wins over FAILED", seen("CANCELLED"), F, True, EndStep.ENDED_OTHERWISE, None),
    ("SUCCESS is not written over CANCELLED", seen("CANCELLED"), S, False, EndStep.ENDED_OTHERWISE, None),
    ("unclaimed attempt (no driver joined): record", seen(claimed=None), F, True, EndStep.RECORD, "A"),
    ("unclaimed attempt, old heartbeat: record", seen(claimed=False, beat_age=OLD), S, True, EndStep.RECORD, "A"),
    ("claimed, alive, budget left: wait for the driver", seen(claimed=True), F, True, EndStep.WAIT_FOR_DRIVER, "A"),
    ("claimed, alive, budget spent: record", seen(claimed=True), F, False, EndStep.RECORD, "A"),
    ("claimed, heartbeat older than the lease: record", seen(claimed=True, beat_age=OLD), F, True, EndStep.RECORD, "A"),
    (
        "claimed, never beat, started before the lease: record",
        seen(claimed=True, beat_age=None),
        S,
        True,
        EndStep.RECORD,
        "A",
    ),
    ("written before attempts existed: unfenced", seen(attempt=None), S, True, EndStep.RECORD, None),
    (
        "attempt id of an older try (a writer without attempts started another): unfenced",
        seen(try_number=2, attempt_try=1),
        F,
        True,
        EndStep.RECORD,
        None,
    ),
]


@pytest.mark.parametrize(("why", "run", "verdict", "may_wait", "step", "fence"), ROWS, ids=[r[0] for r in ROWS])
def test_the_end_policy(
    why: str, run: PipelineRunLog | None, verdict: RunStatus, may_wait: bool, step: EndStep, fence: str | None
) -> None:
    decision = decide_end(run, verdict, lease=LEASE, now=NOW, may_wait=may_wait)
    assert (decision.step, decision.attempt_id) == (step, fence), why
    assert decision.reason


@pytest.mark.parametrize(("text", "status"), [("success", S), (" FAILED ", F), ("Cancelled", C), (S, S)])
def test_end_status_text(text: Any, status: RunStatus) -> None:
    assert parse_end_status(text) is status


@pytest.mark.parametrize("text", ["RUNNING", "done", ""])
def test_a_bad_end_status_names_the_field(text: str) -> None:
    with pytest.raises(ValidationError, match="status must be SUCCESS, FAILED or CANCELLED") as caught:
        parse_end_status(text)
    assert caught.value.field == "status"


@pytest.mark.parametrize(
    ("name", "value"), [("driver_end_timeout", -1.0), ("driver_poll_interval", 0.0), ("lease_seconds", 0.0)]
)
def test_bad_wait_numbers_name_the_field(name: str, value: float) -> None:
    with pytest.raises(ValidationError, match=name) as caught:
        RunEnd(run_id="r", pipeline_id="p", status=S, **{name: value})  # type: ignore[arg-type]
    assert caught.value.field == name


# -- end_run against DynamoDB Local -----------------------------------------------------------------


@pytest.fixture(scope="module")
def registry(dynamodb_endpoint: str) -> Registry:
    cfg = DynamoDBConfig(
        endpoint_url=dynamodb_endpoint,
        table_prefix=f"end{uuid.uuid4().hex[:8]}_",
        base_backoff_seconds=0.01,
        max_backoff_seconds=0.05,
        max_attempts=2,
    )
    reg = Registry(cfg)
    reg.create_tables()
    return reg


class Clock:
    """An injected monotonic clock that a sleep advances; ``during_sleep`` acts on each sleep."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []
        self.during_sleep: Iterator[None] | None = None

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        if self.during_sleep is not None:
            next(self.during_sleep, None)


def started(registry: Registry, *, claimed_by: str | None = None) -> tuple[str, str]:
    """A RUNNING run (opened by a start; claimed by a driver's join when ``claimed_by``)."""
    run_id = f"dag/{uuid.uuid4().hex[:10]}"
    run = registry.runs_write.start({"run_id": run_id, "pipeline_id": "p1", "task_id": "start_run", "try_number": 1})
    attempt = run.attempt_id
    assert attempt is not None
    if claimed_by is not None:
        joined = registry.runs_write.join(
            RunStart(run_id=run_id, pipeline_id="p1", task_id="spark_job", try_number=1, attempt_id=claimed_by),
            opened_attempt_id=attempt,
        )
        attempt = joined.attempt_id
        assert joined.attempt_claimed
        assert attempt == claimed_by
    return run_id, str(attempt)


@pytest.mark.integration
def test_records_an_unclaimed_run_at_once(registry: Registry) -> None:
    run_id, _ = started(registry)
    clock = Clock()
    end = RunEnd(run_id=run_id, pipeline_id="p1", status=F, error_type="TaskFailed", error_message="spark_job failed")
    result = end_run(registry.runs_write, end, sleep=clock.sleep, monotonic=clock.monotonic)
    assert (result.outcome, result.run.status, result.run.error_message) == (EndOutcome.RECORDED, F, "spark_job failed")
    assert clock.sleeps == []
    assert result.waited_for is None
    again = end_run(registry.runs_write, end, sleep=clock.sleep, monotonic=clock.monotonic)
    assert again.outcome is EndOutcome.ALREADY_ENDED  # a second end (a callback after the operator): no-op
    other = end_run(registry.runs_write, RunEnd(run_id=run_id, pipeline_id="p1", status=S), sleep=clock.sleep)
    assert (other.outcome, other.run.status) == (EndOutcome.ENDED_OTHERWISE, F)  # FAILED is kept


@pytest.mark.integration
def test_a_run_never_started_is_item_not_found(registry: Registry) -> None:
    with pytest.raises(ItemNotFoundError, match="was never started, so SUCCESS cannot be recorded"):
        end_run(registry.runs_write, RunEnd(run_id="dag/never", pipeline_id="p1", status=S))


@pytest.mark.integration
def test_waits_for_a_live_driver_whose_own_end_wins(registry: Registry) -> None:
    run_id, attempt = started(registry, claimed_by="driver-1")
    clock = Clock()

    def driver_cancels_on_second_poll() -> Iterator[None]:
        yield
        registry.runs_write.finish(
            {"run_id": run_id, "pipeline_id": "p1", "status": "CANCELLED", "attempt_id": attempt}
        )
        yield

    clock.during_sleep = driver_cancels_on_second_poll()
    end = RunEnd(run_id=run_id, pipeline_id="p1", status=F, driver_end_timeout=60, driver_poll_interval=2)
    result = end_run(registry.runs_write, end, sleep=clock.sleep, monotonic=clock.monotonic)
    assert (result.outcome, result.run.status, result.waited_for) == (EndOutcome.ENDED_OTHERWISE, C, attempt)
    assert clock.sleeps == [2, 2]


@pytest.mark.integration
def test_records_over_a_silent_driver_after_the_wait_fenced_on_its_attempt(registry: Registry) -> None:
    run_id, attempt = started(registry, claimed_by="driver-2")
    clock = Clock()
    end = RunEnd(run_id=run_id, pipeline_id="p1", status=F, driver_end_timeout=5, driver_poll_interval=2)
    result = end_run(registry.runs_write, end, sleep=clock.sleep, monotonic=clock.monotonic)
    assert (result.outcome, result.run.status, result.waited_for) == (EndOutcome.RECORDED, F, attempt)
    assert clock.sleeps == [2, 2, 1]  # bounded by driver_end_timeout


@pytest.mark.integration
def test_never_ends_a_newer_attempt(registry: Registry) -> None:
    """The run read in attempt A is superseded by a newer try before the write: the fenced end is
    refused and the run stays RUNNING in the newer attempt."""
    run_id, attempt = started(registry)
    clock = Clock()

    class NewerTryBetweenReadAndWrite:
        def __init__(self) -> None:
            self.writes = registry.runs_write

        def current(self, run_id: str, pipeline_id: str) -> PipelineRunLog | None:
            return self.writes.current(run_id, pipeline_id)

        def finish(self, data: Any) -> PipelineRunLog:
            self.writes.start({"run_id": run_id, "pipeline_id": "p1", "task_id": "start_run", "try_number": 2})
            return self.writes.finish(data)

    with pytest.raises(ConflictError):
        end_run(NewerTryBetweenReadAndWrite(), RunEnd(run_id=run_id, pipeline_id="p1", status=S), sleep=clock.sleep)
    now = registry.runs_write.current(run_id, "p1")
    assert now is not None
    assert now.status is RunStatus.RUNNING
    assert now.attempt_id != attempt

"""The verdict of whoever waits on a run, as a table: (the run as seen, the wait, now) -> outcome.

Pure (no DynamoDB, no Airflow). The rows mirror what ``sensors/run_state.py`` decides today
(``tests/airflow/test_sensor_decision.py``); this module also checks that the sensor's
function and this one agree on every row (``test_the_sensor_agrees_on_every_row``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from airflow_provider_pipeline_registry.registry.errors import ValidationError
from airflow_provider_pipeline_registry.registry.run_logs.status import RUN_STATES, RunStatus
from airflow_provider_pipeline_registry.registry.run_logs.verdict import (
    DEFAULT_FAILED_STATES,
    DEFAULT_TARGET_STATES,
    RUN_STATE_ATTRIBUTES,
    OutcomeKind,
    RunSnapshot,
    Wait,
    coerce_stale_after,
    decide,
    describe_target,
    evaluate_run_state,
    validate_states,
)

NOW = datetime(2026, 3, 8, 7, 0, 0, tzinfo=UTC)
TARGET = frozenset({"SUCCESS"})
FAILED = frozenset({"FAILED", "CANCELLED"})
MINUTES_5 = timedelta(minutes=5)


def seen(status: str, **fields: Any) -> RunSnapshot:
    values: dict[str, Any] = {"start_time": NOW - timedelta(minutes=10), "try_number": 1, **fields}
    return RunSnapshot(run_id="r1", pipeline_id="p1", status=status, **values)


@dataclass(frozen=True)
class Row:
    rule: str
    seen: RunSnapshot | None
    kind: OutcomeKind
    says: tuple[str, ...] = ()  # what the reason must say
    stale_after: timedelta | None = None
    target_states: frozenset[str] = TARGET
    failed_states: frozenset[str] = FAILED
    tz: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


ROWS = [
    Row("no run yet: wait", None, OutcomeKind.WAITING, ("run 'r1' of pipeline 'p1' does not exist yet; waiting",)),
    Row("a target state: succeed", seen("SUCCESS", end_time=NOW), OutcomeKind.SUCCESS, ("reached a target state",)),
    Row(
        "a failed state: fail with the recorded error",
        seen("FAILED", end_time=NOW, error_type="ValueError", error_message="bad row 42"),
        OutcomeKind.FAILED,
        ("ended as FAILED: ValueError: bad row 42",),
    ),
    Row(
        "CANCELLED is failed by default",
        seen("CANCELLED", end_time=NOW, error_message="killed"),
        OutcomeKind.FAILED,
        ("ended as CANCELLED: killed",),
    ),
    Row(
        "a failed state wins over staleness",
        seen("FAILED", end_time=NOW),
        OutcomeKind.FAILED,
        ("no error recorded",),
        stale_after=timedelta(seconds=1),
    ),
    Row(
        "RUNNING, heartbeat older than the threshold: stale",
        seen("RUNNING", heartbeat_at=NOW - timedelta(minutes=6)),
        OutcomeKind.STALE,
        ("stale: last heartbeat", "is older than 0:05:00"),
        stale_after=MINUTES_5,
    ),
    Row(
        "RUNNING, heartbeat exactly the threshold old: alive",
        seen("RUNNING", heartbeat_at=NOW - MINUTES_5),
        OutcomeKind.WAITING,
        stale_after=MINUTES_5,
    ),
    Row(
        "RUNNING, a fresh heartbeat: wait even if the start is old",
        seen("RUNNING", heartbeat_at=NOW - timedelta(minutes=1)),
        OutcomeKind.WAITING,
        ("; waiting",),
        stale_after=MINUTES_5,
    ),
    Row(
        "RUNNING without a heartbeat: the start decides",
        seen("RUNNING"),
        OutcomeKind.STALE,
        ("start (no heartbeat)",),
        stale_after=MINUTES_5,
    ),
    Row(
        "staleness not checked: wait",
        seen("RUNNING", heartbeat_at=NOW - timedelta(days=3)),
        OutcomeKind.WAITING,
    ),
    Row(
        "an end state in neither set: wait (a retry may restart the run)",
        seen("CANCELLED", end_time=NOW),
        OutcomeKind.WAITING,
        failed_states=frozenset({"FAILED"}),
    ),
    Row(
        "a state this version does not know (a newer writer): wait",
        seen("PAUSED"),
        OutcomeKind.WAITING,
        ("unknown state 'PAUSED'",),
    ),
    Row(
        "FAILED as the target (waiting for a failure)",
        seen("FAILED", end_time=NOW),
        OutcomeKind.SUCCESS,
        target_states=frozenset({"FAILED"}),
        failed_states=frozenset({"SUCCESS"}),
    ),
    Row(
        "times shown in the user's timezone with UTC beside",
        seen("RUNNING", start_time=datetime(2026, 3, 8, 6, 59, 30, tzinfo=UTC)),
        OutcomeKind.WAITING,
        ("started 2026-03-08 01:59:30 EST (06:59:30 UTC)",),
        tz="America/New_York",
    ),
]


def _wait(row: Row) -> Wait:
    return Wait(row.target_states, row.failed_states, row.stale_after, "run 'r1' of pipeline 'p1'", row.tz)


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.rule)
def test_verdict(row: Row) -> None:
    outcome = decide(row.seen, _wait(row), NOW)
    assert outcome.kind is row.kind, outcome.message
    assert outcome.is_final is (row.kind is not OutcomeKind.WAITING)
    for text in row.says:
        assert text in outcome.message
    assert outcome.snapshot is row.seen
    if outcome.is_final:
        assert outcome.final_snapshot is row.seen


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.rule)
def test_keyword_spelling_is_the_same_decision(row: Row) -> None:
    wait = _wait(row)
    spelled = evaluate_run_state(
        row.seen,
        target_states=wait.target_states,
        failed_states=wait.failed_states,
        stale_after=wait.stale_after,
        now=NOW,
        target=wait.target,
        tz=wait.tz,
    )
    assert spelled == decide(row.seen, wait, NOW)


def test_the_wait_is_validated_before_it_is_decided() -> None:
    assert validate_states(DEFAULT_TARGET_STATES, DEFAULT_FAILED_STATES) == (TARGET, FAILED)
    assert validate_states("success", ()) == (frozenset({RunStatus.SUCCESS}), frozenset())
    with pytest.raises(ValidationError, match="disjoint; both contain FAILED") as info:
        validate_states(["SUCCESS", "FAILED"], ["FAILED"])
    assert info.value.field == "failed_states"
    with pytest.raises(ValidationError, match="unknown run state 'DONE'") as info:
        validate_states(["DONE"], [])
    assert info.value.field == "target_states"
    with pytest.raises(ValidationError, match="at least one"):
        validate_states([], ["FAILED"])
    assert coerce_stale_after(None) is None
    assert coerce_stale_after(90) == timedelta(seconds=90)
    with pytest.raises(ValidationError, match="positive"):
        coerce_stale_after(timedelta(0))
    with pytest.raises(ValidationError, match="timedelta"):
        coerce_stale_after(True)


def test_the_snapshot_round_trips_and_reads_the_projection() -> None:
    original = seen("FAILED", end_time=NOW, heartbeat_at=NOW, error_type="E", error_message="m")
    assert RunSnapshot.from_dict(original.to_dict()) == original
    assert set(original.to_dict()) - {"run_id", "pipeline_id"} == set(RUN_STATE_ATTRIBUTES)
    assert (
        describe_target(None, "p", NOW, None, "UTC")
        == "latest run of pipeline 'p' started after 2026-03-08 07:00:00 UTC"
    )


def test_run_states_have_one_home() -> None:
    assert tuple(s.value for s in RunStatus) == RUN_STATES
    from airflow_provider_pipeline_registry.registry.run_logs import RunStatus as exported
    from airflow_provider_pipeline_registry.registry.run_logs.models import RunStatus as in_models

    assert exported is in_models is RunStatus


def test_the_sensor_and_trigger_use_this_verdict() -> None:
    """One home: the sensor's names are this module's (no copy that could drift)."""
    from airflow_provider_pipeline_registry.registry.run_logs import verdict
    from airflow_provider_pipeline_registry.sensors import run_state as sensor  # no Airflow import

    assert sensor.evaluate_run_state is verdict.evaluate_run_state
    assert sensor.read_run_state is verdict.read_run_state
    assert sensor.RunSnapshot is verdict.RunSnapshot

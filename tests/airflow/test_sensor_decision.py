"""The sensor's one decision function, shared by poke, reschedule and deferrable modes (pure, no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from airflow_provider_pipeline_registry.registry.errors import ValidationError
from airflow_provider_pipeline_registry.registry.run_logs import RunStatus
from airflow_provider_pipeline_registry.sensors.run_state import (
    Outcome,
    OutcomeKind,
    RunSnapshot,
    coerce_stale_after,
    describe_target,
    evaluate_run_state,
    validate_states,
)
from airflow_provider_pipeline_registry.triggers.pipeline_registry import next_poll_interval

pytestmark = pytest.mark.airflow

NOW = datetime(2026, 3, 8, 7, 0, 0, tzinfo=UTC)
TARGET = frozenset({RunStatus.SUCCESS})
FAILED = frozenset({RunStatus.FAILED, RunStatus.CANCELLED})


def snap(status: str, **fields: object) -> RunSnapshot:
    values: dict[str, object] = {"start_time": NOW - timedelta(minutes=10), "try_number": 1, **fields}
    return RunSnapshot(run_id="r1", pipeline_id="p1", status=status, **values)  # type: ignore[arg-type]


def decide(snapshot: RunSnapshot | None, stale_after: timedelta | None = None, tz: str | None = None) -> Outcome:
    return evaluate_run_state(
        snapshot,
        target_states=TARGET,
        failed_states=FAILED,
        stale_after=stale_after,
        now=NOW,
        target="run 'r1' of pipeline 'p1'",
        tz=tz,
    )


def test_missing_run_keeps_waiting() -> None:
    outcome = decide(None)
    assert outcome.kind is OutcomeKind.WAITING
    assert "does not exist yet" in outcome.message


def test_target_state_is_success() -> None:
    outcome = decide(snap("SUCCESS", end_time=NOW))
    assert outcome.kind is OutcomeKind.SUCCESS


@pytest.mark.parametrize("status", ["FAILED", "CANCELLED"])
def test_failed_state_carries_the_recorded_error(status: str) -> None:
    outcome = decide(snap(status, end_time=NOW, error_type="ValueError", error_message="bad row 42"))
    assert outcome.kind is OutcomeKind.FAILED
    assert f"ended as {status}: ValueError: bad row 42" in outcome.message


def test_failed_state_wins_over_staleness() -> None:
    outcome = decide(snap("FAILED", end_time=NOW), stale_after=timedelta(seconds=1))
    assert outcome.kind is OutcomeKind.FAILED
    assert "no error recorded" in outcome.message


def test_stale_heartbeat() -> None:
    outcome = decide(snap("RUNNING", heartbeat_at=NOW - timedelta(minutes=6)), stale_after=timedelta(minutes=5))
    assert outcome.kind is OutcomeKind.STALE
    assert "last heartbeat" in outcome.message


def test_fresh_heartbeat_keeps_waiting_even_when_the_start_is_old() -> None:
    outcome = decide(snap("RUNNING", heartbeat_at=NOW - timedelta(minutes=1)), stale_after=timedelta(minutes=5))
    assert outcome.kind is OutcomeKind.WAITING


def test_without_heartbeat_the_start_decides_staleness() -> None:
    outcome = decide(snap("RUNNING"), stale_after=timedelta(minutes=5))
    assert outcome.kind is OutcomeKind.STALE
    assert "start (no heartbeat)" in outcome.message


def test_staleness_is_ignored_when_disabled() -> None:
    outcome = decide(snap("RUNNING", heartbeat_at=NOW - timedelta(days=3)), stale_after=None)
    assert outcome.kind is OutcomeKind.WAITING


def test_end_state_in_neither_set_keeps_waiting() -> None:
    outcome = evaluate_run_state(
        snap("CANCELLED", end_time=NOW),
        target_states=TARGET,
        failed_states=frozenset({RunStatus.FAILED}),
        stale_after=None,
        now=NOW,
        target="x",
    )
    assert outcome.kind is OutcomeKind.WAITING


def test_unknown_status_from_a_newer_writer_keeps_waiting() -> None:
    outcome = decide(snap("PAUSED"))
    assert outcome.kind is OutcomeKind.WAITING
    assert "unknown state 'PAUSED'" in outcome.message


def test_messages_show_the_users_timezone_with_utc_beside_it() -> None:
    outcome = decide(snap("RUNNING", start_time=datetime(2026, 3, 8, 6, 59, 30, tzinfo=UTC)), tz="America/New_York")
    assert "started 2026-03-08 01:59:30 EST (06:59:30 UTC)" in outcome.message


def test_states_must_be_disjoint() -> None:
    with pytest.raises(ValidationError, match="disjoint; both contain FAILED") as info:
        validate_states(["SUCCESS", "FAILED"], ["FAILED"])
    assert info.value.field == "failed_states"


def test_states_must_be_known_and_target_not_empty() -> None:
    with pytest.raises(ValidationError, match="unknown run state 'DONE'") as info:
        validate_states(["DONE"], [])
    assert info.value.field == "target_states"
    with pytest.raises(ValidationError, match="at least one"):
        validate_states([], ["FAILED"])
    assert validate_states("success", ()) == (frozenset({RunStatus.SUCCESS}), frozenset())


def test_stale_after_coercion() -> None:
    assert coerce_stale_after(None) is None
    assert coerce_stale_after(90) == timedelta(seconds=90)
    with pytest.raises(ValidationError, match="positive"):
        coerce_stale_after(timedelta(0))
    assert coerce_stale_after("5m") == timedelta(minutes=5)  # the one duration grammar (time_inputs)
    with pytest.raises(ValidationError, match="stale_after: 'soon' is not a duration"):
        coerce_stale_after("soon")
    with pytest.raises(ValidationError, match="stale_after: True is not a duration"):
        coerce_stale_after(True)


def test_snapshot_round_trips_through_its_event_form() -> None:
    original = snap("FAILED", end_time=NOW, heartbeat_at=NOW, error_type="E", error_message="m")
    assert RunSnapshot.from_dict(original.to_dict()) == original


def test_describe_target_names_the_window() -> None:
    assert describe_target("r", "p", None, None, None) == "run 'r' of pipeline 'p'"
    text = describe_target(None, "p", NOW, None, "UTC")
    assert text == "latest run of pipeline 'p' started after 2026-03-08 07:00:00 UTC"


def test_poll_interval_backoff() -> None:
    assert [next_poll_interval(1.0, n, exponential_backoff=False, max_wait=None) for n in (1, 2, 3)] == [1, 1, 1]
    assert [next_poll_interval(1.0, n, exponential_backoff=True, max_wait=3.0) for n in (1, 2, 3)] == [1, 2, 3]


@pytest.mark.parametrize(
    ("event", "expected", "text"),
    [
        ({"status": "timeout", "message": "Sensor has timed out"}, "AirflowSensorTimeout", "timed out"),
        (
            {"status": "error", "message": "no table", "error_class": "TableNotFoundError", "fatal": True},
            "PipelineRunReadError",
            "TableNotFoundError: no table",
        ),
        (
            {"status": "error", "message": "refused", "error_class": "RegistryConnectionError", "fatal": False},
            "RegistryConnectionError",
            "refused",
        ),
        ({"status": "error", "message": "odd", "error_class": "KeyError", "fatal": False}, "RegistryError", "odd"),
        ({"status": "bogus", "message": "?"}, "AirflowException", "unexpected trigger event"),
        (None, "AirflowException", "without an event"),
    ],
)
def test_execute_complete_maps_events_like_poke_mode(event: dict[str, Any] | None, expected: str, text: str) -> None:
    """Events that need no read: the exception type poke mode raises for the same case."""
    from airflow_provider_pipeline_registry.sensors.pipeline_registry import PipelineRunStateSensor

    sensor = PipelineRunStateSensor(task_id="s", pipeline_id="p", run_id="r", deferrable=True)
    with pytest.raises(Exception) as info:  # noqa: PT011 - the type is asserted by name below
        sensor.execute_complete({}, event)  # type: ignore[arg-type]
    assert type(info.value).__name__ == expected
    assert text in str(info.value)


@pytest.mark.parametrize(
    ("status", "expected"), [("failed", "PipelineRunFailedError"), ("stale", "PipelineRunStaleError")]
)
def test_execute_complete_fails_failed_and_stale_runs(status: str, expected: str) -> None:
    from airflow_provider_pipeline_registry.sensors.pipeline_registry import PipelineRunStateSensor

    sensor = PipelineRunStateSensor(task_id="s", pipeline_id="p", run_id="r", deferrable=True)
    run = snap("FAILED" if status == "failed" else "RUNNING").to_dict()
    with pytest.raises(Exception) as info:  # noqa: PT011
        sensor.execute_complete({}, {"status": status, "message": f"the run is {status}", "run": run})  # type: ignore[arg-type]
    assert type(info.value).__name__ == expected
    assert f"the run is {status}" in str(info.value)

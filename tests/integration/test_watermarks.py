"""Incremental loads on real DynamoDB: a table's watermark moves iff its run is recorded SUCCESS.

Each test builds a pipeline with incremental tables, runs it through the driver's run logger or
the write API (start, stage, end) and checks the committed value and its history.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from airflow_provider_pipeline_registry.registry import (
    AttemptSupersededError,
    ConflictError,
    ItemNotFoundError,
    Registry,
    RunStatus,
    TableNotFoundError,
    ValidationError,
    WatermarkBackwardsError,
    WatermarkConflictError,
)
from airflow_provider_pipeline_registry.registry.run_logger import PipelineRunLogger

pytestmark = [pytest.mark.integration, pytest.mark.needs("transactions")]


def _pipeline(registry: Registry, pipeline_id: str, tables: dict[str, str], **table_fields: Any) -> None:
    registry.pipelines_write.create({"pipeline_id": pipeline_id, "name": pipeline_id})
    for table_id, kind in tables.items():
        registry.tables_write.create(
            {
                "table_id": table_id,
                "pipeline_id": pipeline_id,
                "table_name": table_id,
                "load_type": "incremental",
                "watermark_column": "updated_at",
                "watermark_type": kind,
                **table_fields,
            }
        )


def _logger(registry: Registry, run_id: str, pipeline_id: str = "p", **kwargs: Any) -> PipelineRunLogger:
    kwargs.setdefault("heartbeat_interval", 3600)
    return PipelineRunLogger(pipeline_id=pipeline_id, run_id=run_id, registry=registry, handle_sigterm=False, **kwargs)


def test_three_runs_success_failure_and_retry_of_the_failed_run(registry: Registry) -> None:
    _pipeline(registry, "p", {"orders": "integer"})
    with _logger(registry, "r1") as run:
        assert run.watermark("orders") is None
        run.advance_watermark("orders", 10)
    assert registry.tables.watermark("orders").value == "10"

    def failing_job() -> None:
        with _logger(registry, "r2", try_number=1) as run:
            assert run.watermark("orders") == "10"
            assert run.advance_watermark("orders", "25") == "25"
            raise RuntimeError("the job failed after staging")

    with pytest.raises(RuntimeError):
        failing_job()
    failed = registry.runs_write.current("r2", "p")
    assert failed is not None
    assert failed.status is RunStatus.FAILED
    assert failed.watermark_staged == {"orders": "25"}  # staged, visible, not committed
    assert registry.tables.watermark("orders").value == "10"

    with _logger(registry, "r2", try_number=2) as retry:
        assert retry.watermark("orders") == "10"  # the run's snapshot: nothing was committed
        retry.advance_watermark("orders", 25)
    state = registry.tables.watermark("orders")
    assert (state.value, state.run_id, state.seq) == ("25", "r2", 2)
    history = registry.tables.watermark_history("orders")
    assert [(e.run_id, e.from_value, e.to_value, e.kind.value) for e in history] == [
        ("r1", None, "10", "commit"),
        ("r2", "10", "25", "commit"),
    ]
    done = registry.runs_write.current("r2", "p")
    assert done is not None
    assert done.status is RunStatus.SUCCESS
    assert done.watermark_commits == {"orders": {"from": "10", "to": "25", "seq": 2}}


def test_two_overlapping_runs_exactly_one_commits_the_other_is_refused_and_recorded(registry: Registry) -> None:
    _pipeline(registry, "p", {"orders": "integer", "customers": "timestamp"})
    first, second = _logger(registry, "a"), _logger(registry, "b")
    with first, second:
        assert first.watermark("orders") is None
        assert second.watermark("orders") is None
        first.advance_watermark("orders", 5)
        second.advance_watermark("orders", 7)
        second.advance_watermark("customers", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    # the second exits first (with-statement order): it commits; the first one is refused
    assert second.status is RunStatus.SUCCESS
    assert second.watermark_conflict is None
    conflict = first.watermark_conflict
    assert isinstance(conflict, WatermarkConflictError)
    assert conflict.table_id == "orders"
    assert conflict.moved_by_run_id == "b"
    assert (conflict.read_value, conflict.current_value) == (None, "7")
    refused = registry.runs_write.current("a", "p")
    assert refused is not None
    assert refused.status is RunStatus.FAILED
    assert refused.error_type == "WatermarkConflictError"
    assert "'b'" in (refused.error_message or "")
    assert registry.tables.watermark("orders").value == "7"
    assert registry.tables.watermark("customers").value == "2026-01-02T03:04:05.000000Z"
    states = registry.tables.pipeline_watermarks("p")
    assert {t: s.value for t, s in states.items()} == {"customers": "2026-01-02T03:04:05.000000Z", "orders": "7"}
    assert states["orders"].run_id == "b"
    assert [e.run_id for e in registry.tables.watermark_history("orders")] == ["b"]


def test_the_end_operator_path_commits_values_given_with_the_end(registry: Registry) -> None:
    _pipeline(registry, "p", {"orders": "integer"})
    started = registry.runs_write.start({"run_id": "r", "pipeline_id": "p"})
    assert started.watermarks == {"orders": {"from": None, "seq": 0, "type": "integer", "column": "updated_at"}}
    with pytest.raises(ValidationError, match="unknown"):
        registry.runs_write.finish(
            {"run_id": "r", "pipeline_id": "p", "status": "SUCCESS", "watermarks": {"unknown": 1}}
        )
    ended = registry.runs_write.finish(
        {
            "run_id": "r",
            "pipeline_id": "p",
            "status": "SUCCESS",
            "attempt_id": started.attempt_id,
            "watermarks": {"orders": "42"},
        }
    )
    assert ended.status is RunStatus.SUCCESS
    assert ended.watermark_commits == {"orders": {"from": None, "to": "42", "seq": 1}}
    # the same end again (a re-delivered callback) is a no-op: one history entry
    again = registry.runs_write.finish(
        {
            "run_id": "r",
            "pipeline_id": "p",
            "status": "SUCCESS",
            "attempt_id": started.attempt_id,
            "watermarks": {"orders": "42"},
        }
    )
    assert again.status is RunStatus.SUCCESS
    assert len(registry.tables.watermark_history("orders")) == 1


def test_failed_and_cancelled_ends_commit_nothing(registry: Registry) -> None:
    _pipeline(registry, "p", {"orders": "integer"})
    for run_id, status in (("f", "FAILED"), ("c", "CANCELLED")):
        started = registry.runs_write.start({"run_id": run_id, "pipeline_id": "p"})
        registry.runs_write.stage_watermark(run_id, "p", "orders", 9, attempt_id=started.attempt_id)
        registry.runs_write.finish(
            {
                "run_id": run_id,
                "pipeline_id": "p",
                "status": status,
                "attempt_id": started.attempt_id,
                "watermarks": {"orders": 9},
            }
        )
    assert registry.tables.watermark("orders").value is None
    assert registry.tables.watermark_history("orders") == []


def test_a_zombie_end_and_a_superseded_stage_change_nothing(registry: Registry) -> None:
    _pipeline(registry, "p", {"orders": "integer"})
    old = registry.runs_write.start({"run_id": "r", "pipeline_id": "p", "try_number": 1, "task_id": "t"})
    new = registry.runs_write.start({"run_id": "r", "pipeline_id": "p", "try_number": 2, "task_id": "t"})
    with pytest.raises(AttemptSupersededError):
        registry.runs_write.stage_watermark("r", "p", "orders", 3, attempt_id=old.attempt_id)
    with pytest.raises(AttemptSupersededError):
        registry.runs_write.finish(
            {
                "run_id": "r",
                "pipeline_id": "p",
                "status": "SUCCESS",
                "attempt_id": old.attempt_id,
                "watermarks": {"orders": 3},
            }
        )
    current = registry.runs_write.current("r", "p")
    assert current is not None
    assert current.status is RunStatus.RUNNING
    assert current.attempt_id == new.attempt_id
    assert current.watermark_staged is None
    assert registry.tables.watermark("orders").value is None
    assert registry.tables.watermark_history("orders") == []


def test_backwards_advance_is_refused_and_types_round_trip_and_order(registry: Registry) -> None:
    _pipeline(registry, "p", {"n": "integer", "ts": "timestamp", "s": "string"})
    paris = datetime(2026, 3, 29, 3, 30, tzinfo=UTC) + timedelta(0)
    with _logger(registry, "r1") as run:
        run.advance_watermark("n", 9)
        run.advance_watermark("ts", "2026-03-29T04:30:00+01:00")
        run.advance_watermark("s", "b")
    assert registry.tables.watermark("n").value == "9"
    assert registry.tables.watermark("ts").value == "2026-03-29T03:30:00.000000Z"
    assert datetime.fromisoformat(registry.tables.watermark("ts").value or "") == paris
    with _logger(registry, "r2") as run:
        assert run.advance_watermark("n", 10) == "10"  # 10 > 9 as integers, although "10" < "9" as text
        with pytest.raises(WatermarkBackwardsError):
            run.advance_watermark("n", 8)
        with pytest.raises(WatermarkBackwardsError):
            run.advance_watermark("ts", datetime(2026, 3, 29, 3, 29, 59, 999999, tzinfo=UTC))
        with pytest.raises(WatermarkBackwardsError):
            run.advance_watermark("s", "a")
        with pytest.raises(ValidationError, match="timezone"):
            run.advance_watermark("ts", datetime(2026, 4, 1))
        with pytest.raises(ValidationError, match="integer"):
            run.advance_watermark("n", 10.5)
        run.advance_watermark("ts", datetime(2026, 3, 29, 3, 30, 0, 1, tzinfo=UTC))
    assert registry.tables.watermark("n").value == "10"
    assert registry.tables.watermark("ts").value == "2026-03-29T03:30:00.000001Z"
    assert registry.tables.watermark("s").value == "b"  # the refused "a" was never staged
    started = registry.runs_write.start({"run_id": "r3", "pipeline_id": "p"})
    with pytest.raises(WatermarkBackwardsError):  # the end operator's values are checked the same way
        registry.runs_write.finish(
            {
                "run_id": "r3",
                "pipeline_id": "p",
                "status": "SUCCESS",
                "attempt_id": started.attempt_id,
                "watermarks": {"n": 2},
            }
        )


def test_rewind_before_a_run_then_the_next_run_reprocesses_from_its_low_bound(registry: Registry) -> None:
    _pipeline(registry, "p", {"orders": "integer"})
    for run_id, high in (("r1", 10), ("r2", 20), ("r3", 30)):
        with _logger(registry, run_id) as run:
            run.advance_watermark("orders", high)
    preview = registry.tables_write.rewind_watermark("orders", to_run_id="r2", reason="bad data in r2", dry_run=True)
    assert (preview.from_value, preview.to_value) == ("30", "10")
    assert registry.tables.watermark("orders").value == "30"  # a dry run writes nothing
    entry = registry.tables_write.rewind_watermark(
        "orders", to_run_id="r2", position="before", reason="bad data in r2", actor="alice"
    )
    assert (entry.kind.value, entry.from_value, entry.to_value, entry.actor, entry.reason) == (
        "rewind",
        "30",
        "10",
        "alice",
        "bad data in r2",
    )
    state = registry.tables.watermark("orders")
    assert (state.value, state.rewound_by, state.run_id) == ("10", "alice", None)
    with _logger(registry, "r4") as run:
        assert run.watermark("orders") == "10"  # r2's low bound: r2's rows are read again
        run.advance_watermark("orders", 31)
    after = registry.tables_write.rewind_watermark("orders", to_run_id="r1", position="after", reason="x", actor="bob")
    assert after.to_value == "10"
    to_value = registry.tables_write.rewind_watermark("orders", value=3, reason="reload", actor="bob")
    assert to_value.to_value == "3"
    kinds = [(e.kind.value, e.from_value, e.to_value) for e in registry.tables.watermark_history("orders")]
    assert kinds == [
        ("commit", None, "10"),
        ("commit", "10", "20"),
        ("commit", "20", "30"),
        ("rewind", "30", "10"),
        ("commit", "10", "31"),
        ("rewind", "31", "10"),
        ("rewind", "10", "3"),
    ]
    newest = registry.tables.watermark_history("orders", limit=2, newest_first=True)
    assert [(e.seq, e.to_value) for e in newest] == [(7, "3"), (6, "10")]
    with pytest.raises(ItemNotFoundError):
        registry.tables_write.rewind_watermark("orders", to_run_id="never", reason="typo")
    with pytest.raises(ValidationError):
        registry.tables_write.rewind_watermark("orders", to_run_id="r1", value=1, reason="both")
    with pytest.raises(ValidationError):
        registry.tables_write.rewind_watermark("orders", value=1, reason=" ")


def test_a_rewind_while_a_run_is_in_flight_refuses_that_runs_commit(registry: Registry) -> None:
    _pipeline(registry, "p", {"orders": "integer"})
    with _logger(registry, "r1") as run:
        run.advance_watermark("orders", 10)
    with _logger(registry, "r2") as run:
        assert run.watermark("orders") == "10"
        run.advance_watermark("orders", 20)
        # a rewind to the very value the run read still moves the state (its seq): refused
        registry.tables_write.rewind_watermark("orders", value=10, reason="replay", actor="ops")
    conflict = run.watermark_conflict
    assert isinstance(conflict, WatermarkConflictError)
    assert conflict.moved_by_run_id is None
    assert conflict.rewound_by == "ops"
    refused = registry.runs_write.current("r2", "p")
    assert refused is not None
    assert refused.status is RunStatus.FAILED
    assert registry.tables.watermark("orders").value == "10"


def test_a_run_of_a_pipeline_without_tables_reads_nothing(registry: Registry) -> None:
    with _logger(registry, "r", pipeline_id="empty") as run, pytest.raises(ValidationError, match="none"):
        run.watermark("orders")
    stored = registry.runs_write.current("r", "empty")
    assert stored is not None
    assert stored.status is RunStatus.SUCCESS
    assert stored.watermarks is None


def test_a_conflict_error_is_a_conflict_error() -> None:
    assert issubclass(WatermarkConflictError, ConflictError)


def test_without_the_watermark_table_runs_start_and_a_commit_names_the_missing_table(registry: Registry) -> None:
    """A deployment upgraded without create_tables: starts read every table as never committed;
    only a commit fails, naming the table to create."""
    _pipeline(registry, "p", {"orders": "integer"})
    missing = registry.config.table_name("table_watermarks")
    registry.client.delete_table(TableName=missing)
    registry.client.get_waiter("table_not_exists").wait(TableName=missing, WaiterConfig={"Delay": 1})
    started = registry.runs_write.start({"run_id": "r", "pipeline_id": "p"})
    assert started.watermark_read("orders") is None
    with pytest.raises(TableNotFoundError, match=missing):
        registry.runs_write.finish(
            {
                "run_id": "r",
                "pipeline_id": "p",
                "status": "SUCCESS",
                "attempt_id": started.attempt_id,
                "watermarks": {"orders": 1},
            }
        )
    stored = registry.runs_write.current("r", "p")
    assert stored is not None
    assert stored.status is RunStatus.RUNNING  # not recorded SUCCESS without its watermark


def test_the_end_of_run_policy_commits_values_and_raises_a_watermark_conflict(registry: Registry) -> None:
    """``end_run`` (the end operator's and notifiers' policy) passes the values with a SUCCESS end,
    and a watermark conflict is raised, not reported as "the run changed while ending it"."""
    from airflow_provider_pipeline_registry.registry.run_logs.ending import EndOutcome, RunEnd, end_run

    _pipeline(registry, "p", {"orders": "integer"})
    registry.runs_write.start({"run_id": "a", "pipeline_id": "p"})
    registry.runs_write.start({"run_id": "b", "pipeline_id": "p"})
    done = end_run(
        registry.runs_write,
        RunEnd(run_id="a", pipeline_id="p", status="SUCCESS", driver_end_timeout=0, watermarks={"orders": 4}),
    )
    assert done.outcome is EndOutcome.RECORDED
    assert registry.tables.watermark("orders").value == "4"
    with pytest.raises(WatermarkConflictError) as caught:
        end_run(
            registry.runs_write,
            RunEnd(run_id="b", pipeline_id="p", status="SUCCESS", driver_end_timeout=0, watermarks={"orders": 6}),
        )
    assert caught.value.moved_by_run_id == "a"
    refused = registry.runs_write.current("b", "p")
    assert refused is not None
    assert (refused.status, refused.error_type) == (RunStatus.FAILED, "WatermarkConflictError")
    assert registry.tables.watermark("orders").value == "4"

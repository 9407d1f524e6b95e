"""Watermark rules without DynamoDB: typed canonical values and their order, and what a new
attempt writes of the run's watermark snapshot (kept, read anew after SUCCESS, stage dropped)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from airflow_provider_pipeline_registry.registry.errors import ValidationError
from airflow_provider_pipeline_registry.registry.run_logs.lifecycle import (
    AttemptRequest,
    Opener,
    Outcome,
    decide,
    needs_watermarks,
)
from airflow_provider_pipeline_registry.registry.run_logs.models import PipelineRunLog, RunStart
from airflow_provider_pipeline_registry.registry.watermarks.values import (
    WatermarkType,
    is_backwards,
    normalize_watermark,
)

NOW = datetime(2026, 3, 8, 7, 0, tzinfo=UTC)
SNAPSHOT = {"orders": {"from": "10", "seq": 1, "type": "integer"}}


@pytest.mark.parametrize(
    ("kind", "value", "text"),
    [
        ("integer", 10, "10"),
        ("integer", " -007 ", "-7"),
        ("timestamp", datetime(2026, 3, 29, 2, 30, tzinfo=timezone(timedelta(hours=2))), "2026-03-29T00:30:00.000000Z"),
        ("timestamp", "2026-03-29T00:30:00Z", "2026-03-29T00:30:00.000000Z"),
        ("timestamp", "2026-03-29T00:30:00.5+00:00", "2026-03-29T00:30:00.500000Z"),
        ("string", "batch-0042", "batch-0042"),
    ],
)
def test_values_have_one_canonical_text(kind: str, value: object, text: str) -> None:
    assert normalize_watermark(value, kind, table_id="t") == text
    assert normalize_watermark(text, kind, table_id="t") == text  # the text round-trips


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("integer", 1.5),
        ("integer", True),
        ("integer", "1e3"),
        ("timestamp", datetime(2026, 3, 29)),  # naive: which zone?
        ("timestamp", "2026-03-29"),
        ("timestamp", "yesterday"),
        ("string", ""),
        ("string", 5),
        ("string", "x" * 1025),
        ("integer", None),
    ],
)
def test_values_of_the_wrong_type_are_refused_naming_the_table(kind: str, value: object) -> None:
    with pytest.raises(ValidationError) as caught:
        normalize_watermark(value, kind, table_id="orders")
    assert caught.value.field == "watermarks.orders"


def test_order_follows_the_declared_type() -> None:
    assert is_backwards("10", "9", WatermarkType.INTEGER)
    assert not is_backwards("9", "10", WatermarkType.INTEGER)  # "10" < "9" as text
    assert not is_backwards("-2", "-1", WatermarkType.INTEGER)
    low = normalize_watermark("2026-03-29T00:30:00.000001Z", "timestamp")
    assert is_backwards(low, normalize_watermark("2026-03-29T00:30:00Z", "timestamp"), "timestamp")
    assert is_backwards("b", "a", "string")
    assert not is_backwards(None, "a", "string")
    assert not is_backwards("a", "a", "string")  # staying is not going back


def _run(status: str, *, watermarks: dict | None = SNAPSHOT) -> PipelineRunLog:
    return PipelineRunLog(
        run_id="r",
        pipeline_id="p",
        status=status,
        start_time=NOW - timedelta(hours=1),
        end_time=None if status == "RUNNING" else NOW - timedelta(minutes=1),
        heartbeat_at=NOW - timedelta(hours=1),
        attempt_id="A",
        task_id="t",
        start_task_id="t",
        try_number=1,
        start_try_number=1,
        watermarks=watermarks,
        watermark_staged={"orders": "12"},
        watermark_pending=True,
    )


def _request(snapshot: dict | None) -> AttemptRequest:
    start = RunStart(run_id="r", pipeline_id="p", try_number=2, task_id="t", attempt_id="B", start_time=NOW)
    return AttemptRequest(run=start, opener=Opener.START, watermarks=snapshot)


def test_a_retry_keeps_the_runs_snapshot_and_drops_what_the_failed_try_staged() -> None:
    seen = _run("FAILED")
    decision = decide(seen, _request(None), NOW)
    assert decision.outcome is Outcome.RESTART
    assert needs_watermarks(decision, seen) is False  # the run has its snapshot: nothing to read
    fresh = {"orders": {"from": "99", "seq": 5, "type": "integer"}}
    update = decide(seen, _request(fresh), NOW).update
    assert update is not None
    assert "watermarks" not in update.set
    assert update.set_if_absent["watermarks"] == fresh  # only where the run has none
    assert {"watermark_staged", "watermark_pending"} <= set(update.remove)


def test_a_restart_after_success_reads_the_committed_values_anew() -> None:
    seen = _run("SUCCESS")
    decision = decide(seen, _request(None), NOW)
    assert decision.outcome is Outcome.RESTART
    assert needs_watermarks(decision, seen) is True
    fresh = {"orders": {"from": "12", "seq": 2, "type": "integer"}}
    update = decide(seen, _request(fresh), NOW).update
    assert update is not None
    assert update.set["watermarks"] == fresh
    assert "watermark_commits" in update.remove


def test_a_new_run_reads_a_snapshot_and_a_duplicate_start_does_not() -> None:
    assert needs_watermarks(decide(None, _request(None), NOW), None) is True
    running = _run("RUNNING")
    duplicate = AttemptRequest(
        run=RunStart(run_id="r", pipeline_id="p", try_number=1, task_id="t", attempt_id="C", start_time=NOW)
    )
    decision = decide(running, duplicate, NOW)
    assert decision.outcome is Outcome.UNCHANGED
    assert needs_watermarks(decision, running) is False

"""Run-log lifecycle and queries against DynamoDB Local: legal and illegal transitions, indexes, TTL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from airflow_provider_pipeline_registry.registry import (
    AttemptConflictError,
    AttemptSupersededError,
    ConflictError,
    ItemNotFoundError,
    PipelineRunLogUpsert,
    Registry,
    RegistryValidationError,
    RunFinish,
    RunStart,
    RunStatus,
    ValidationError,
)
from airflow_provider_pipeline_registry.registry.text_limits import MAX_ERROR_BYTES

pytestmark = pytest.mark.integration

T0 = datetime(2026, 5, 1, 12, tzinfo=UTC)


def start(registry: Registry, run_id: str, pipeline_id: str = "p", **extra: Any) -> Any:
    return registry.runs_write.start({"run_id": run_id, "pipeline_id": pipeline_id, "start_time": T0, **extra})


def finish(registry: Registry, run_id: str, status: str = "SUCCESS", pipeline_id: str = "p", **extra: Any) -> Any:
    data = {"run_id": run_id, "pipeline_id": pipeline_id, "status": status, "end_time": T0 + timedelta(minutes=5)}
    return registry.runs_write.finish({**data, **extra})


def raw_run(registry: Registry, run_id: str, pipeline_id: str = "p") -> dict[str, Any]:
    return registry.client.get_item(  # type: ignore[return-value]
        TableName=registry.config.table_name("pipeline_run_logs"),
        Key={"run_id": {"S": run_id}, "pipeline_id": {"S": pipeline_id}},
        ConsistentRead=True,
    )["Item"]


def running_ids(registry: Registry) -> list[str]:
    return [run.run_id for run in registry.runs.iter_running(page_size=2)]


def test_start_then_every_read(registry: Registry) -> None:
    run = start(
        registry,
        "dag/2026-05-01",
        dag_id="dag",
        dag_run_id="scheduled__2026-05-01",
        task_id="spark",
        map_index=-1,
        logical_date=T0,
        metrics={"rows": 0},
    )
    assert (run.status, run.try_number, run.heartbeat_at, run.is_running) == (RunStatus.RUNNING, 1, T0, True)
    view = registry.runs.get_by_id("dag/2026-05-01", "p", consistent=True)
    assert view.dag_run_id == "scheduled__2026-05-01"
    assert view.logical_date == T0
    assert view.duration_seconds is None
    assert registry.runs.find_by_id("dag/2026-05-01", "p") == view
    assert registry.runs.find_by_id("dag/2026-05-01", "other") is None
    assert registry.runs.find_entity("dag/2026-05-01", "p", consistent=True) == run
    with pytest.raises(ItemNotFoundError, match="not found"):
        registry.runs.get_by_id("nope", "p")
    # reserved words (status, start_time...) in a projection
    assert registry.runs.get_attributes("dag/2026-05-01", "p", ["status", "try_number", "start_time"]) == {
        "status": "RUNNING",
        "try_number": 1,
        "start_time": "2026-05-01T12:00:00.000000Z",
    }
    assert registry.runs.get_attributes("nope", "p", ["status"]) is None
    raw = raw_run(registry, "dag/2026-05-01")
    assert raw["is_running"] == {"S": "true"}
    assert "expire_at" not in raw  # no retention configured


def test_duplicate_start_is_a_noop(registry: Registry) -> None:
    first = start(registry, "r")
    again = start(registry, "r", start_time=T0 + timedelta(seconds=30))
    assert again.start_time == first.start_time
    assert again.updated_at == first.updated_at


def test_finish_success_and_duplicate_finish(registry: Registry) -> None:
    start(registry, "r")
    registry.runs_write.heartbeat("r", "p", at=T0 + timedelta(minutes=1), metrics={"rows_read": 10})
    done = finish(registry, "r", metrics={"rows_written": 7})
    assert done.status is RunStatus.SUCCESS
    assert done.duration_seconds == 300
    assert done.metrics == {"rows_read": 10, "rows_written": 7}
    assert done.is_running is None
    assert "is_running" not in raw_run(registry, "r")
    duplicate = finish(registry, "r")
    assert duplicate.end_time == done.end_time
    assert duplicate.updated_at == done.updated_at
    with pytest.raises(ConflictError, match="already ended as SUCCESS; refusing to record FAILED") as info:
        finish(registry, "r", "FAILED", error_type="ValueError", error_message="boom")
    assert info.value.current is not None
    assert info.value.current["status"] == "SUCCESS"


def test_late_start_after_finish_is_refused(registry: Registry) -> None:
    start(registry, "r")
    finish(registry, "r", "FAILED", error_type="OSError", error_message="disk")
    with pytest.raises(ConflictError, match="already ended as FAILED") as info:
        start(registry, "r")  # a re-delivered start of try 1
    assert info.value.operation == "start"
    stored = registry.runs.get_by_id("r", "p", consistent=True)
    assert stored.status is RunStatus.FAILED
    assert (stored.error_type, stored.error_message) == ("OSError", "disk")
    assert running_ids(registry) == []


def test_retry_with_higher_try_restarts(registry: Registry) -> None:
    start(registry, "r")
    finish(registry, "r", "FAILED", error_type="OSError", error_message="disk", try_number=1)
    retry = start(registry, "r", try_number=2, start_time=T0 + timedelta(minutes=10))
    assert (retry.status, retry.try_number) == (RunStatus.RUNNING, 2)
    assert (retry.end_time, retry.error_type, retry.error_message) == (None, None, None)
    assert running_ids(registry) == ["r"]
    with pytest.raises(ConflictError, match="RUNNING as try 2; a start for the older try 1"):
        start(registry, "r", try_number=1)
    with pytest.raises(ConflictError, match="stale end is refused"):
        finish(registry, "r", "FAILED", try_number=1)
    done = finish(registry, "r", try_number=2, end_time=T0 + timedelta(minutes=12))
    assert done.duration_seconds == 120
    assert running_ids(registry) == []
    assert (
        registry.runs_write.start(
            RunStart(run_id="r", pipeline_id="p", try_number=3, start_time=T0 + timedelta(hours=1))
        ).try_number
        == 3
    )


def test_join_claims_the_started_attempt_once(registry: Registry) -> None:
    opened = start(registry, "r", try_number=2, task_id="start_run")
    joined = registry.runs_write.join(
        {"run_id": "r", "pipeline_id": "p", "try_number": 1, "task_id": "spark"}, opened_attempt_id=opened.attempt_id
    )
    # the task that runs the job is recorded, with its own try; the starting task keeps its own fields
    assert (joined.task_id, joined.try_number, joined.attempt_claimed) == ("spark", 1, True)
    assert (joined.start_task_id, joined.start_try_number) == ("start_run", 2)
    assert joined.attempt_id != opened.attempt_id
    assert joined.attempts == []
    with pytest.raises(AttemptConflictError, match="alive"):  # a second driver of the same try
        registry.runs_write.join(
            {"run_id": "r", "pipeline_id": "p", "try_number": 1, "task_id": "spark"},
            opened_attempt_id=opened.attempt_id,
        )


def test_join_accepts_expected_attempt_id_as_a_deprecated_alias(registry: Registry) -> None:
    opened = start(registry, "r", task_id="start_run")
    driver = {"run_id": "r", "pipeline_id": "p", "try_number": 1, "task_id": "spark"}
    with pytest.raises(RegistryValidationError, match="opened_attempt_id= only") as both:
        registry.runs_write.join(driver, opened_attempt_id=opened.attempt_id, expected_attempt_id=opened.attempt_id)
    assert both.value.field == "expected_attempt_id"
    old_name = pytest.warns(DeprecationWarning, match=r"expected_attempt_id=.*opened_attempt_id=")
    with pytest.raises(AttemptConflictError, match="not the expected other"), old_name:  # it still fences
        registry.runs_write.join(driver, expected_attempt_id="other", lease=timedelta(days=36500))
    with pytest.warns(DeprecationWarning, match=r"expected_attempt_id=.*opened_attempt_id="):
        joined = registry.runs_write.join(driver, expected_attempt_id=opened.attempt_id)
    assert joined.attempt_claimed
    assert joined.task_id == "spark"


def test_heartbeat_rules(registry: Registry) -> None:
    start(registry, "r", metrics={"rows": 1})
    beat = registry.runs_write.heartbeat(
        "r",
        "p",
        at=T0 + timedelta(seconds=30),
        metrics={"rows": 2, "bytes": 1.5},
        spark={"spark_application_id": "app-1", "spark_ui_url": None},
    )
    assert beat.heartbeat_at == T0 + timedelta(seconds=30)
    assert beat.metrics == {"rows": 2, "bytes": 1.5}
    assert beat.spark_application_id == "app-1"
    with pytest.raises(ItemNotFoundError):
        registry.runs_write.heartbeat("ghost", "p")
    registry.runs_write.cancel("r", "p", reason="killed by user")
    with pytest.raises(ConflictError, match="already ended as CANCELLED"):
        registry.runs_write.heartbeat("r", "p")
    cancelled = registry.runs.get_by_id("r", "p", consistent=True)
    assert (cancelled.status, cancelled.error_type, cancelled.error_message) == (
        RunStatus.CANCELLED,
        "Cancelled",
        "killed by user",
    )


def test_finish_of_a_run_never_started(registry: Registry) -> None:
    with pytest.raises(ItemNotFoundError, match="was never started"):
        finish(registry, "ghost")


def test_bad_run_input_is_a_validation_error(registry: Registry) -> None:
    with pytest.raises(ValidationError) as info:
        finish(registry, "r", "DONE")
    assert info.value.field == "status"
    with pytest.raises(ValidationError) as info:
        finish(registry, "r", "RUNNING")
    assert info.value.field == "status"
    with pytest.raises(ValidationError) as info:
        start(registry, "r", try_number=0)
    assert info.value.field == "try_number"
    with pytest.raises(ValidationError) as info:
        registry.runs_write.heartbeat("r", "p", metrics={"rows": float("inf")})
    assert info.value.field is not None
    assert "metrics" in info.value.field
    with pytest.raises(ValidationError) as info:
        registry.runs.list_by_pipeline("p", statuses=["WAITING"])
    assert info.value.field == "statuses"
    with pytest.raises(ValidationError, match="timezone-aware"):
        registry.runs.list_by_pipeline("p", since=datetime(2026, 1, 1))
    with pytest.raises(ValidationError) as info:
        registry.runs.list_by_pipeline("p", since=T0, until=T0 - timedelta(seconds=1))
    assert info.value.field == "since"


def test_long_error_messages_are_truncated_not_refused(registry: Registry) -> None:
    start(registry, "r")
    done = finish(registry, "r", "FAILED", error_type="RuntimeError", error_message="x" * 100_000)
    assert done.error_message is not None
    assert len(done.error_message.encode()) <= MAX_ERROR_BYTES
    assert done.error_message.startswith("xxx")
    assert done.error_message.endswith("xxx")
    assert " bytes omitted] ...\n" in done.error_message


def test_running_index_and_stale_detection(registry: Registry) -> None:
    start(registry, "beating", start_time=T0)
    registry.runs_write.heartbeat("beating", "p", at=T0 + timedelta(minutes=50))
    start(registry, "silent", start_time=T0 + timedelta(minutes=10))  # never sends a heartbeat
    start(registry, "fresh", start_time=T0 + timedelta(minutes=55))
    start(registry, "ended", start_time=T0 - timedelta(hours=5))
    finish(registry, "ended")
    assert running_ids(registry) == ["beating", "silent", "fresh"]  # oldest start first
    page = registry.runs.list_running(limit=2)
    assert [r.run_id for r in page] == ["beating", "silent"]
    rest = registry.runs.list_running(page_token=page.next_page_token)
    assert [r.run_id for r in rest] == ["fresh"]

    now = T0 + timedelta(hours=1)
    stale = registry.runs.list_stale(timedelta(minutes=15), now=now)
    assert [r.run_id for r in stale] == ["silent"]  # start 50 min ago, no heartbeat
    assert [r.run_id for r in registry.runs.list_stale(timedelta(minutes=5), now=now)] == ["beating", "silent"]
    assert registry.runs.list_stale(timedelta(hours=2), now=now) == []


def test_list_by_pipeline_window_status_and_pages(registry: Registry) -> None:
    for i in range(10):
        start(registry, f"r{i}", pipeline_id="etl", start_time=T0 + timedelta(hours=i))
        if i % 2 == 0:
            finish(registry, f"r{i}", "SUCCESS" if i % 4 == 0 else "FAILED", pipeline_id="etl")
    start(registry, "other-pipeline", pipeline_id="hr")
    newest_first = [r.run_id for r in registry.runs.iter_by_pipeline("etl", page_size=3)]
    assert newest_first == [f"r{i}" for i in reversed(range(10))]
    window = registry.runs.list_by_pipeline("etl", since=T0 + timedelta(hours=2), until=T0 + timedelta(hours=5))
    assert [r.run_id for r in window] == ["r5", "r4", "r3", "r2"]
    failed = registry.runs.list_by_pipeline("etl", statuses=[RunStatus.FAILED])
    assert [r.run_id for r in failed] == ["r6", "r2"]
    ended = registry.runs.list_by_pipeline("etl", statuses=["SUCCESS", "FAILED"], limit=3)
    assert [r.run_id for r in ended] == ["r8", "r6", "r4"]
    more = registry.runs.list_by_pipeline(
        "etl", statuses=["SUCCESS", "FAILED"], limit=3, page_token=ended.next_page_token
    )
    assert [r.run_id for r in more] == ["r2", "r0"]
    with pytest.raises(ValidationError):
        registry.runs.list_by_pipeline("etl", statuses=["FAILED"], page_token=ended.next_page_token)
    latest = registry.runs.latest("etl")
    assert latest is not None
    assert latest.run_id == "r9"
    before = registry.runs.latest("etl", until=T0 + timedelta(hours=3, minutes=30))
    assert before is not None
    assert before.run_id == "r3"
    assert registry.runs.latest("etl", since=T0 + timedelta(days=1)) is None
    assert [r.run_id for r in registry.runs.iter_by_pipeline("hr")] == ["other-pipeline"]


@pytest.mark.needs("ttl")
def test_retention_sets_expire_at_and_enables_ttl(make_registry: Any) -> None:
    registry = make_registry(run_log_retention_days=30)
    run = start(registry, "r")
    expected = int((T0 + timedelta(days=30)).timestamp())
    assert run.expire_at == expected
    assert raw_run(registry, "r")["expire_at"] == {"N": str(expected)}
    report = registry.runs_write.batch_upsert(
        [{"run_id": "imported", "pipeline_id": "p", "status": "SUCCESS", "start_time": T0, "end_time": T0}]
    )
    assert report.written == ["imported/p"]
    assert raw_run(registry, "imported")["expire_at"] == {"N": str(expected)}
    ttl = registry.client.describe_time_to_live(TableName=registry.config.table_name("pipeline_run_logs"))
    assert ttl["TimeToLiveDescription"]["AttributeName"] == "expire_at"
    assert ttl["TimeToLiveDescription"]["TimeToLiveStatus"] in {"ENABLED", "ENABLING"}


def test_batch_upsert_and_delete_of_runs(registry: Registry) -> None:
    runs = [
        PipelineRunLogUpsert(
            run_id=f"b{i}",
            pipeline_id="bulk",
            status=RunStatus.RUNNING if i == 0 else RunStatus.SUCCESS,
            start_time=T0 + timedelta(minutes=i),
            end_time=None if i == 0 else T0 + timedelta(minutes=i, seconds=30),
            metrics={"rows": i},
        )
        for i in range(30)
    ]
    report = registry.runs_write.batch_upsert(runs)
    assert report.ok
    assert len(report.written) == 30
    assert running_ids(registry) == ["b0"]
    assert registry.runs.get_by_id("b7", "bulk").duration_seconds == 30
    item = registry.runs_write.to_item(runs[3])
    assert item["status"] == {"S": "SUCCESS"}
    assert "is_running" not in item
    with pytest.raises(ValidationError, match=r"\[1\]\.status") as info:
        registry.runs_write.batch_upsert([runs[0], {"run_id": "x", "pipeline_id": "bulk", "status": "NOPE"}])
    assert info.value.field == "[1].status"
    deleted = registry.runs_write.delete("b1", "bulk")
    assert deleted.run_id == "b1"
    with pytest.raises(ItemNotFoundError):
        registry.runs_write.delete("b1", "bulk")
    assert len(list(registry.runs.iter_by_pipeline("bulk"))) == 29
    assert (
        registry.runs_write.finish(RunFinish(run_id="b0", pipeline_id="bulk", status=RunStatus.SUCCESS)).is_running
        is None
    )
    assert running_ids(registry) == []


# -- attempts and fencing -----------------------------------------------------------------------
def join(registry: Registry, task_id: str | None, try_number: int | None, **kwargs: Any) -> Any:
    data: dict[str, Any] = {"run_id": "r", "pipeline_id": "p", "try_number": try_number or 1}
    if task_id is not None:
        data["task_id"] = task_id
    return registry.runs_write.join(data, try_number_known=try_number is not None, **kwargs)


def test_a_start_replayed_after_a_lost_response_recognises_its_own_attempt(registry: Registry) -> None:
    from reliability.reliability_faults import FaultInjector

    first = start(registry, "r")
    finish(registry, "r", "FAILED", error_type="OSError", error_message="disk")
    faults = FaultInjector(registry.client, rate=1.0, seed=1, kinds=("lost_response",), operations=["UpdateItem"])
    faults.max_faults = 1
    retry = start(registry, "r", try_number=2, attempt_id="a" * 32)  # applied, response lost, replayed
    faults.remove()
    assert faults.faults["lost_response"] == 1
    assert (retry.status, retry.try_number, retry.attempt_id) == (RunStatus.RUNNING, 2, "a" * 32)
    stored = registry.runs.find_entity("r", "p", consistent=True)
    assert stored is not None
    assert [(a.attempt_id, a.status, a.try_number) for a in stored.attempts] == [(first.attempt_id, "FAILED", 1)]


def test_a_zombie_attempt_cannot_write_into_the_newer_one(registry: Registry) -> None:
    opened = start(registry, "r", task_id="start_run")
    try1 = join(registry, "spark", 1, opened_attempt_id=opened.attempt_id)
    try2 = join(registry, "spark", 2, opened_attempt_id=opened.attempt_id)  # Airflow retried the Spark task
    assert try2.attempt_id != try1.attempt_id
    registry.runs_write.heartbeat(
        "r", "p", metrics={"rows": 2}, spark={"spark_application_id": "app-2"}, attempt_id=try2.attempt_id
    )
    with pytest.raises(AttemptSupersededError, match="is now attempt") as info:
        registry.runs_write.heartbeat(
            "r", "p", metrics={"rows": 999}, spark={"spark_application_id": "app-1"}, attempt_id=try1.attempt_id
        )
    assert info.value.current is not None
    assert info.value.current["attempt_id"] == try2.attempt_id
    with pytest.raises(AttemptSupersededError):
        finish(registry, "r", "FAILED", attempt_id=try1.attempt_id)
    stored = registry.runs.find_entity("r", "p", consistent=True)
    assert stored is not None
    assert (stored.status, stored.metrics, stored.spark_application_id) == (RunStatus.RUNNING, {"rows": 2}, "app-2")
    assert (stored.task_id, stored.try_number) == ("spark", 2)
    assert [(a.attempt_id, a.status, a.try_number) for a in stored.attempts] == [(try1.attempt_id, "SUPERSEDED", 1)]
    # the newer attempt's own end, and its re-delivery, are fine; the zombie's end is still refused
    done = finish(registry, "r", attempt_id=try2.attempt_id)
    assert finish(registry, "r", attempt_id=try2.attempt_id).updated_at == done.updated_at
    with pytest.raises(AttemptSupersededError):
        finish(registry, "r", attempt_id=try1.attempt_id)


def test_a_late_try_1_driver_cannot_take_over_try_2(registry: Registry) -> None:
    opened = start(registry, "r", task_id="start_run")
    try2 = join(registry, "spark", 2, opened_attempt_id=opened.attempt_id)  # try 1 was queued in YARN
    with pytest.raises(AttemptConflictError, match="alive"):
        join(registry, "spark", 1, opened_attempt_id=opened.attempt_id)
    finish(registry, "r", "FAILED", attempt_id=try2.attempt_id)
    with pytest.raises(AttemptConflictError, match="already ended as FAILED"):
        join(registry, "spark", 1, opened_attempt_id=opened.attempt_id)
    stored = registry.runs.find_entity("r", "p", consistent=True)
    assert stored is not None
    assert (stored.attempt_id, stored.try_number, stored.status) == (try2.attempt_id, 2, RunStatus.FAILED)


def test_a_spark_task_retried_alone_starts_a_new_attempt_as_its_try_2(registry: Registry) -> None:
    opened = start(registry, "r", task_id="start_run")
    try1 = join(registry, "spark", 1, opened_attempt_id=opened.attempt_id)
    registry.runs_write.heartbeat("r", "p", spark={"spark_application_id": "app-1"}, attempt_id=try1.attempt_id)
    finish(registry, "r", "FAILED", error_type="ValueError", error_message="bad row", attempt_id=try1.attempt_id)
    try2 = join(registry, "spark", 2, opened_attempt_id=opened.attempt_id)  # the Start task did not rerun
    assert (try2.status, try2.try_number, try2.task_id, try2.spark_application_id) == (
        RunStatus.RUNNING,
        2,
        "spark",
        None,
    )
    (previous,) = try2.attempts
    assert (previous.attempt_id, previous.try_number, previous.task_id, previous.status) == (
        try1.attempt_id,
        1,
        "spark",
        "FAILED",
    )
    assert (previous.error_type, previous.error_message, previous.spark_application_id) == (
        "ValueError",
        "bad row",
        "app-1",
    )
    assert previous.start_time == opened.start_time
    assert previous.end_time is not None


def test_a_run_ended_before_any_driver_claimed_it(registry: Registry) -> None:
    opened = start(registry, "r", task_id="start_run")
    finish(registry, "r", "FAILED", error_type="TaskFailed", attempt_id=opened.attempt_id)  # a callback
    with pytest.raises(AttemptConflictError):  # try 1's driver, late: its task already failed
        join(registry, "spark", 1, opened_attempt_id=opened.attempt_id)
    retried = join(registry, "spark", 2, opened_attempt_id=opened.attempt_id)
    assert (retried.try_number, [a.task_id for a in retried.attempts]) == (2, ["start_run"])


@pytest.mark.needs("atomic-concurrent-updates")  # moto server applies racing conditional writes both
def test_an_expired_lease_is_taken_over_by_exactly_one_racer(registry: Registry) -> None:
    import threading

    start(registry, "r", task_id="start_run")  # heartbeat at T0, long ago
    claimed = join(registry, "spark", 1)
    registry.runs_write.heartbeat("r", "p", at=T0, attempt_id=claimed.attempt_id)
    results: list[Any] = []
    barrier = threading.Barrier(6)

    def racer() -> None:
        barrier.wait()
        try:
            results.append(join(registry, None, None, lease=timedelta(minutes=5)).attempt_id)
        except AttemptConflictError as exc:
            results.append(exc)

    threads = [threading.Thread(target=racer) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    winners = [r for r in results if isinstance(r, str)]
    assert len(results) == 6, results
    assert len(winners) == 1, results
    stored = registry.runs.find_entity("r", "p", consistent=True)
    assert stored is not None
    assert stored.attempt_id == winners[0]
    assert [a.status for a in stored.attempts] == ["LEASE_EXPIRED"]


def test_the_attempt_history_is_bounded_and_shown_in_the_users_timezone(make_registry: Any) -> None:
    registry = make_registry(user_timezone="Europe/Paris")
    long_error = "x" * 20_000
    for try_number in range(1, 14):
        start(registry, "r", try_number=try_number, start_time=T0 + timedelta(hours=try_number))
        finish(
            registry,
            "r",
            "FAILED",
            error_type="E",
            error_message=long_error,
            end_time=T0 + timedelta(hours=try_number, minutes=1),
        )
    stored = registry.runs.find_entity("r", "p", consistent=True)
    assert stored is not None
    assert [a.try_number for a in stored.attempts] == list(range(3, 13))  # the last 10 before try 13
    assert all(len((a.error_message or "").encode()) <= MAX_ERROR_BYTES for a in stored.attempts)
    view = registry.runs.get_by_id("r", "p", consistent=True)
    assert str(view.attempts[0].start_time.tzinfo) == "Europe/Paris"
    assert view.attempts[0].start_time == T0 + timedelta(hours=3)
    raw = raw_run(registry, "r")
    assert raw["attempts"]["L"][0]["M"]["start_time"] == {"S": "2026-05-01T15:00:00.000000Z"}


def test_batch_upsert_keeps_an_imported_attempt_history(registry: Registry) -> None:
    history = [
        {"attempt_id": "a1", "try_number": 1, "status": "FAILED", "start_time": T0, "error_message": "x" * 20_000}
    ]
    report = registry.runs_write.batch_upsert(
        [{"run_id": "imp", "pipeline_id": "p", "status": "SUCCESS", "start_time": T0, "attempts": history}]
    )
    assert report.ok
    stored = registry.runs.find_entity("imp", "p", consistent=True)
    assert stored is not None
    (attempt,) = stored.attempts
    assert (attempt.attempt_id, attempt.status, attempt.start_time) == ("a1", "FAILED", T0)
    assert len((attempt.error_message or "").encode()) <= MAX_ERROR_BYTES


def test_a_delete_never_removes_a_run_written_after_its_read(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A heartbeat between the delete's read and its delete: the delete reads again and returns
    the run as it was when deleted (with the heartbeat's metrics), not the stale read."""
    started = start(registry, "del-race", pipeline_id="pd")
    gateway = registry.runs_write.gateway
    real_get_item = gateway.get_item
    reads: list[bool] = []

    def get_item_then_a_concurrent_heartbeat(*args: Any, **kwargs: Any) -> Any:
        item = real_get_item(*args, **kwargs)
        reads.append(True)
        if len(reads) == 1:  # another writer lands right after the delete's first read
            registry.runs_write.heartbeat("del-race", "pd", metrics={"rows": 9}, attempt_id=started.attempt_id)
        return item

    monkeypatch.setattr(gateway, "get_item", get_item_then_a_concurrent_heartbeat)
    deleted = registry.runs_write.delete("del-race", "pd")
    # read again after the concurrent write (3 reads where a failed condition returns no old item
    # and the gateway confirms it with a consistent read, as on dynalite)
    assert len(reads) >= 2
    assert deleted.metrics == {"rows": 9}
    assert registry.runs.find_entity("del-race", "pd", consistent=True) is None


# -- capacity (issue #26): no write is billed that a read could replace; history stays small --------


def _calls(registry: Registry) -> Any:
    """(operation, HTTP status) of each call on the registry's client while the context is open."""
    from contextlib import contextmanager

    @contextmanager
    def recording() -> Any:
        seen: list[tuple[str, int]] = []

        def after(http_response: Any, model: Any, **_: Any) -> None:
            seen.append((model.name, http_response.status_code))

        events = registry.client.meta.events
        events.register("after-call.dynamodb.*", after)
        try:
            yield seen
        finally:
            events.unregister("after-call.dynamodb.*", after)

    return recording()


def test_a_join_of_a_started_attempt_and_a_later_try_make_no_refused_write(registry: Registry) -> None:
    """A refused conditional write is billed like a write of the stored item (1 unit per KB): a join
    of the attempt a start opened, and the start of a later try, read the run first (a read
    unit per 4 KB) and write once, still conditional on what they read."""
    opened = start(registry, "cap", task_id="start_run")
    with _calls(registry) as calls:
        joined = registry.runs_write.join(
            {"run_id": "cap", "pipeline_id": "p", "task_id": "spark"}, opened_attempt_id=opened.attempt_id
        )
    assert joined.attempt_claimed
    runs = [c for c in calls if c[0] in {"GetItem", "UpdateItem"}]
    assert runs == [("GetItem", 200), ("UpdateItem", 200)]
    finish(registry, "cap", "FAILED", attempt_id=joined.attempt_id)
    with _calls(registry) as calls:
        retry = start(registry, "cap", try_number=2, task_id="start_run", start_time=T0 + timedelta(minutes=9))
    assert (retry.status, retry.try_number, [a.status for a in retry.attempts]) == (RunStatus.RUNNING, 2, ["FAILED"])
    assert [c for c in calls if c[0] in {"GetItem", "UpdateItem"}] == [("GetItem", 200), ("UpdateItem", 200)]
    # a first start still assumes no run: one write, no read
    with _calls(registry) as calls:
        start(registry, "cap-new")
    assert [c for c in calls if c[0] in {"GetItem", "UpdateItem"}] == [("UpdateItem", 200)]


def test_a_retry_keeps_a_short_error_of_the_previous_attempt(registry: Registry) -> None:
    """The attempt history rides on the run item, and every later write is billed per KB of the
    whole item: a previous attempt keeps the head and tail of its error within
    MAX_HISTORY_ERROR_BYTES, the run's own error keeps MAX_ERROR_BYTES."""
    from airflow_provider_pipeline_registry.registry.attributes import item_size
    from airflow_provider_pipeline_registry.registry.text_limits import MAX_HISTORY_ERROR_BYTES

    error = "Traceback (most recent call last):\n" + "  File x, line 1\n" * 600 + "ValueError: the point"
    start(registry, "hist")
    failed = finish(registry, "hist", "FAILED", error_type="ValueError", error_message=error)
    assert len((failed.error_message or "").encode()) > MAX_ERROR_BYTES - 200
    retry = start(registry, "hist", try_number=2, start_time=T0 + timedelta(minutes=9))
    (previous,) = retry.attempts
    kept = previous.error_message or ""
    assert len(kept.encode()) <= MAX_HISTORY_ERROR_BYTES
    assert kept.startswith("Traceback")
    assert kept.endswith("ValueError: the point")
    assert item_size(raw_run(registry, "hist")) < 1024 + MAX_HISTORY_ERROR_BYTES

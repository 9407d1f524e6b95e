"""``PipelineRunStateSensor`` under real ``dag.test()`` in poke, reschedule and deferrable mode.

Every case runs in each mode and must end the same way: that is the point of sharing one decision
(:func:`evaluate_run_state`) between the modes. The DAGs live in tests/dags/pipeline_run_sensor_dags.py;
their connection ``pr_sensor`` is pointed at DynamoDB Local with the test's table prefix and a user
timezone of America/New_York.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from types import ModuleType
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from airflow_versions import HAS_TASK_STATE_STORE
from dag_modules import load_dag_module

from airflow_provider_pipeline_registry.registry.errors import RetryableError, ValidationError
from airflow_provider_pipeline_registry.registry.run_logs import PipelineRunLogsReadApi
from airflow_provider_pipeline_registry.registry.timezones import utc_now
from airflow_provider_pipeline_registry.sensors.pipeline_registry import (
    PipelineNotInRegistryError,
    PipelineRunFailedError,
    PipelineRunReadError,
    PipelineRunStaleError,
    PipelineRunStateSensor,
)

pytestmark = [pytest.mark.airflow, pytest.mark.integration]

MODES = ("poke", "reschedule", "deferrable")
PIPELINE = "orders_daily"
DISPLAY = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d E[SD]T \((\d{4}-\d\d-\d\d )?\d\d:\d\d:\d\d UTC\)")


@pytest.fixture(scope="module")
def dags(airflow_db: Any) -> ModuleType:
    """The DAG module, imported once (dag.test() also parses it from the dags folder)."""
    return load_dag_module("pipeline_run_sensor_dags.py")


@pytest.fixture
def registry(registry_conn_id: str, registry_hook: Any, monkeypatch: pytest.MonkeyPatch, dags: ModuleType) -> Any:
    """The registry the sensor reads, reachable through the DAGs' connection ``pr_sensor``; it holds
    the config of ``PIPELINE`` (a sensor on a pipeline id the registry does not know fails at once)."""
    conn = os.environ[f"AIRFLOW_CONN_{registry_conn_id.upper()}"]
    monkeypatch.setenv(f"AIRFLOW_CONN_{dags.CONN_ID.upper()}", conn)
    assert json.loads(conn)["extra"]["user_timezone"] == "America/New_York"
    registry_hook.registry.pipelines_write.create({"pipeline_id": PIPELINE, "name": "Orders"})
    return registry_hook.registry


class ReadObserver:
    """Counts the sensor's reads of the base table (every mode reads through ``get_attributes``)."""

    def __init__(self) -> None:
        self.statuses: list[str | None] = []
        self._changed = threading.Condition()
        self._closed = False

    def record(self, item: dict[str, Any] | None) -> None:
        with self._changed:
            self.statuses.append(item.get("status") if item else None)
            self._changed.notify_all()

    def wait_for(self, predicate: Callable[[list[str | None]], bool]) -> bool:
        """Wait until the reads so far satisfy ``predicate`` (True), or the sensor is done (False).

        No deadline of its own: on a loaded machine the sensor's first read may come late, and a
        helper that gave up first would leave the sensor waiting for a run nobody starts. The
        test's timeout bounds it.
        """
        with self._changed:
            self._changed.wait_for(lambda: self._closed or predicate(self.statuses))
            return predicate(self.statuses)

    def close(self) -> None:
        """The sensor's task has ended: release every waiter."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> Iterator[ReadObserver]:
    observer = ReadObserver()
    original = PipelineRunLogsReadApi.get_attributes

    def observed(self: PipelineRunLogsReadApi, *args: Any, **kwargs: Any) -> Any:
        item = original(self, *args, **kwargs)
        attributes = args[2] if len(args) > 2 else kwargs.get("attributes", ())
        if "status" in attributes:  # the sensor's reads (the Spark UI extra link reads spark_ui_url only)
            observer.record(item)
        return item

    monkeypatch.setattr(PipelineRunLogsReadApi, "get_attributes", observed)
    yield observer
    observer.close()  # a test that failed before its own close() leaves no helper thread waiting


def run_sensor(dags: ModuleType, mode: str, conf: dict[str, Any], **sensor_kwargs: Any) -> tuple[str, Any]:
    """Run the mode's DAG with ``sensor_kwargs``; (task state, what its callback recorded)."""
    dr = dags.build_sensor_dag(mode, **sensor_kwargs).test(run_conf=conf)
    ti = dr.get_task_instance(dags.TASK_ID)
    assert ti is not None
    kind, value = dags.OUTCOMES.pop(dr.run_id, (None, None))
    assert kind == str(ti.state), f"callback saw {kind}, task ended {ti.state}"
    return str(ti.state), value


def start(registry: Any, run_id: str = "run-1", **fields: Any) -> None:
    registry.runs_write.start({"run_id": run_id, "pipeline_id": PIPELINE, **fields})


def finish(registry: Any, status: str, run_id: str = "run-1", **fields: Any) -> None:
    registry.runs_write.finish({"run_id": run_id, "pipeline_id": PIPELINE, "status": status, **fields})


CONF = {"run_id": "run-1", "pipeline_id": PIPELINE}


@pytest.mark.parametrize("mode", MODES)
def test_run_that_appears_and_finishes_mid_wait_succeeds(
    mode: str, dags: ModuleType, registry: Any, reads: ReadObserver, capfd: pytest.CaptureFixture[str]
) -> None:
    def run_the_pipeline() -> None:
        # the sensor has looked and found nothing: start the run
        if reads.wait_for(lambda seen: None in seen):
            start(registry)
        # the sensor has seen it RUNNING: finish it
        if reads.wait_for(lambda seen: "RUNNING" in seen):
            finish(registry, "SUCCESS", metrics={"rows_written": 42})

    pipeline = threading.Thread(target=run_the_pipeline)
    pipeline.start()
    state, xcom = run_sensor(dags, mode, CONF)
    reads.close()
    pipeline.join()
    assert reads.statuses[0] is None
    assert "RUNNING" in reads.statuses
    assert state == "success"
    assert xcom["status"] == "SUCCESS"
    assert xcom["run_id"] == "run-1"
    assert xcom["metrics"] == {"rows_written": 42}
    assert xcom["display_timezone"] == "America/New_York"
    assert xcom["end_time"].endswith(("-05:00", "-04:00"))
    # the task's log (structlog, to the captured output): state and times in the user's timezone
    out = capfd.readouterr()
    lines = [line for line in (out.out + out.err).splitlines() if "run 'run-1' of pipeline 'orders_daily'" in line]
    assert any("RUNNING" in line and DISPLAY.search(line) for line in lines), lines
    assert any("does not exist yet" in line for line in lines), lines


@pytest.mark.parametrize("soft_fail", [False, True], ids=["hard", "soft_fail"])
@pytest.mark.parametrize("mode", MODES)
def test_failed_run_fails_at_once_with_its_error_and_is_never_soft_failed(
    mode: str, soft_fail: bool, dags: ModuleType, registry: Any
) -> None:
    start(registry)
    finish(registry, "FAILED", error_type="AnalysisException", error_message="Table not found: orders_raw")
    state, error = run_sensor(dags, mode, CONF, soft_fail=soft_fail, timeout=600)
    assert state == "failed"
    assert isinstance(error, PipelineRunFailedError)
    assert "ended as FAILED: AnalysisException: Table not found: orders_raw" in str(error)


@pytest.mark.parametrize("mode", MODES)
def test_cancelled_run_fails(mode: str, dags: ModuleType, registry: Any) -> None:
    start(registry)
    registry.runs_write.cancel("run-1", PIPELINE)
    state, error = run_sensor(dags, mode, CONF, timeout=600)
    assert state == "failed"
    assert isinstance(error, PipelineRunFailedError)
    assert "ended as CANCELLED" in str(error)


@pytest.mark.parametrize("mode", MODES)
def test_stale_heartbeat_fails(mode: str, dags: ModuleType, registry: Any) -> None:
    start(registry, start_time=utc_now() - timedelta(hours=2))
    registry.runs_write.heartbeat("run-1", PIPELINE, at=utc_now() - timedelta(hours=1))
    state, error = run_sensor(dags, mode, CONF, stale_after=timedelta(minutes=10), soft_fail=True, timeout=600)
    assert state == "failed"
    assert isinstance(error, PipelineRunStaleError)
    assert "stale: last heartbeat" in str(error)


@pytest.mark.parametrize("mode", MODES)
def test_missing_run_waits_then_times_out(mode: str, dags: ModuleType, registry: Any, reads: ReadObserver) -> None:
    state, error = run_sensor(dags, mode, {**CONF, "run_id": "never-started"}, timeout=1)
    assert state == "failed"
    assert type(error).__name__ == "AirflowSensorTimeout"
    # it only ever saw no run (that a missing run keeps it waiting: test_run_that_appears_...)
    assert reads.statuses
    assert set(reads.statuses) == {None}


@pytest.mark.parametrize("soft_fail", [False, True], ids=["hard", "soft_fail"])
@pytest.mark.parametrize("mode", MODES)
def test_a_pipeline_id_not_in_the_registry_fails_at_once_with_the_closest_ids(
    mode: str, soft_fail: bool, dags: ModuleType, registry: Any, reads: ReadObserver
) -> None:
    """Issue 21 item 10: a typo fails on the first look (before deferring), not at the timeout."""
    registry.pipelines_write.create({"pipeline_id": "orders_weekly", "name": "Weekly"})
    registry.pipelines_write.create({"pipeline_id": "customers", "name": "Customers"})
    conf = {"run_id": "run-1", "pipeline_id": "orders_daly"}
    # the timeout is long enough that only the check can end the task before it (a soft_fail
    # sensor would otherwise end skipped): the old code ended at the timeout, AirflowSensorTimeout
    state, error = run_sensor(dags, mode, conf, timeout=5, soft_fail=soft_fail)
    assert state == "failed"
    assert isinstance(error, PipelineNotInRegistryError)
    assert error.pipeline_id == "orders_daly"
    assert error.close_matches == ["orders_daily", "orders_weekly"]
    assert "pipeline 'orders_daly' does not exist (no config, no runs)" in str(error)
    assert "closest ids: 'orders_daily', 'orders_weekly'" in str(error)
    assert "allow_unknown_pipeline=True" in str(error)
    assert reads.statuses == [None]  # one look, then the check: no second poke, no trigger


@pytest.mark.parametrize("mode", MODES)
def test_allow_unknown_pipeline_waits_for_a_pipeline_created_later(
    mode: str, dags: ModuleType, registry: Any, reads: ReadObserver
) -> None:
    conf = {"run_id": "run-1", "pipeline_id": "created_later"}

    def create_and_run() -> None:
        if reads.wait_for(lambda seen: len(seen) >= 2):  # still waiting after its second look
            registry.pipelines_write.create({"pipeline_id": "created_later", "name": "Later"})
            registry.runs_write.start({"run_id": "run-1", "pipeline_id": "created_later"})
            registry.runs_write.finish({"run_id": "run-1", "pipeline_id": "created_later", "status": "SUCCESS"})

    helper = threading.Thread(target=create_and_run)
    helper.start()
    state, xcom = run_sensor(dags, mode, conf, timeout=120, allow_unknown_pipeline=True)
    reads.close()
    helper.join()
    assert state == "success"
    assert xcom["pipeline_id"] == "created_later"


@pytest.mark.parametrize("mode", MODES)
def test_a_pipeline_with_runs_but_no_config_is_known(mode: str, dags: ModuleType, registry: Any) -> None:
    registry.runs_write.start({"run_id": "older", "pipeline_id": "config_removed"})
    conf = {"run_id": "run-2", "pipeline_id": "config_removed"}
    state, error = run_sensor(dags, mode, conf, timeout=1)
    assert state == "failed"
    assert type(error).__name__ == "AirflowSensorTimeout"  # it waited: the pipeline has a history


@pytest.mark.parametrize("mode", MODES)
def test_soft_fail_turns_the_timeout_into_a_skip(mode: str, dags: ModuleType, registry: Any) -> None:
    start(registry)  # RUNNING for ever, fresh heartbeat: only the timeout ends the wait
    state, _ = run_sensor(dags, mode, CONF, timeout=1, soft_fail=True, stale_after=3600)
    assert state == "skipped"


@pytest.mark.parametrize("mode", MODES)
def test_missing_table_fails_at_once_not_at_timeout(mode: str, dags: ModuleType, registry: Any) -> None:
    state, error = run_sensor(dags, mode, CONF, table_prefix="nowhere_", timeout=600, soft_fail=True)
    assert state == "failed"
    assert isinstance(error, PipelineRunReadError)
    assert error.error_class == "TableNotFoundError"
    assert "nowhere_pipeline_run_logs" in str(error)


@pytest.mark.parametrize("mode", MODES)
def test_latest_run_in_a_window(mode: str, dags: ModuleType, registry: Any) -> None:
    now = utc_now()
    start(registry, run_id="yesterday", start_time=now - timedelta(days=1))
    finish(registry, "FAILED", run_id="yesterday")
    start(registry, run_id="today", start_time=now - timedelta(minutes=5))
    finish(registry, "SUCCESS", run_id="today")
    # a naive window bound is read in the user's timezone (America/New_York), in every mode
    since = (now - timedelta(hours=1)).astimezone(ZoneInfo("America/New_York")).replace(tzinfo=None)
    conf = {"pipeline_id": PIPELINE, "since": since.isoformat()}
    state, xcom = run_sensor(dags, mode, conf, run_id=None, since="{{ dag_run.conf['since'] }}")
    assert state == "success"
    assert xcom["run_id"] == "today"


@pytest.mark.parametrize("mode", MODES)
def test_relative_window_and_text_stale_after(mode: str, dags: ModuleType, registry: Any) -> None:
    """The sensor reads the one time grammar (registry/time_inputs.py) in every mode: an age as the
    window (counted back from each look) and ``stale_after`` as text."""
    now = utc_now()
    start(registry, run_id="yesterday", start_time=now - timedelta(days=1))
    finish(registry, "SUCCESS", run_id="yesterday")
    start(registry, run_id="today", start_time=now - timedelta(minutes=5))
    finish(registry, "FAILED", run_id="today")
    state, xcom = run_sensor(dags, mode, {"pipeline_id": PIPELINE}, run_id=None, until="1h", stale_after="15m")
    assert state == "success"
    assert xcom["run_id"] == "yesterday"


def test_module_level_deferrable_dag_completes(dags: ModuleType, registry: Any) -> None:
    start(registry)
    finish(registry, "SUCCESS", metrics={"rows_written": 7})
    dr = dags.dag_deferrable.test(run_conf=CONF)
    assert str(dr.state) == "success"
    kind, xcom = dags.OUTCOMES.pop(dr.run_id)
    assert kind == "success"
    assert xcom["metrics"] == {"rows_written": 7}


def test_overlapping_states_are_refused_at_construction() -> None:
    with pytest.raises(ValidationError, match="target_states and failed_states must be disjoint") as info:
        PipelineRunStateSensor(
            task_id="bad", pipeline_id=PIPELINE, run_id="r", target_states=["SUCCESS"], failed_states=["SUCCESS"]
        )
    assert info.value.field == "failed_states"


def test_window_cannot_be_combined_with_a_run_id() -> None:
    with pytest.raises(ValidationError, match="cannot be used with run_id"):
        PipelineRunStateSensor(task_id="bad", pipeline_id=PIPELINE, run_id="r", since="2026-01-01T00:00:00Z")


@pytest.mark.parametrize("mode", ["poke", "deferrable"])
def test_a_retry_continues_the_timeout_of_the_first_poke(
    mode: str, dags: ModuleType, registry: Any, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    """A transient read error fails try 1; try 2 keeps counting from try 1's first poke (Airflow 3.3+;
    before, without a task state store, each try counts from its own first poke)."""
    original = PipelineRunLogsReadApi.get_attributes
    calls = {"n": 0}

    def flaky(self: PipelineRunLogsReadApi, *args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RetryableError("DynamoDB kept answering ThrottlingException after 6 attempts")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(PipelineRunLogsReadApi, "get_attributes", flaky)
    state, error = run_sensor(
        dags, mode, {**CONF, "run_id": "never-started"}, timeout=3, retries=1, retry_delay=timedelta(0)
    )
    assert state == "failed"
    assert type(error).__name__ == "AirflowSensorTimeout"
    out = capfd.readouterr()
    budget_lines = [
        re.search(r"timeout: ([\d.]+) s of 3 s left, counted from the first poke at (.+?UTC\)?)", line)
        for line in (out.out + out.err).splitlines()
    ]
    found = [m for m in budget_lines if m]
    assert len(found) == 2, found  # one line per try
    (left_1, first_1), (left_2, first_2) = (m.groups() for m in found)
    assert float(left_1) == 3.0
    if HAS_TASK_STATE_STORE:
        assert first_1 == first_2  # try 2 counts from try 1's first poke ...
        assert float(left_2) < 3.0  # ... so it has less than the whole timeout left
    else:  # Airflow < 3.3: a try counts from its own first poke, as every Airflow sensor does
        assert float(left_2) == 3.0
    assert calls["n"] > 3  # try 2 did poke again


class TriggerRuns:
    """Counts the runs of ``PipelineRunStateTrigger`` (the real trigger still runs: dag.test() runs it inline)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from airflow_provider_pipeline_registry.triggers.pipeline_registry import PipelineRunStateTrigger

        self.count = 0
        original = PipelineRunStateTrigger.run

        def counted(trigger: PipelineRunStateTrigger) -> Any:
            self.count += 1
            return original(trigger)

        monkeypatch.setattr(PipelineRunStateTrigger, "run", counted)


@pytest.fixture
def trigger_runs(monkeypatch: pytest.MonkeyPatch) -> TriggerRuns:
    return TriggerRuns(monkeypatch)


def test_deferrable_sensor_on_a_finished_run_succeeds_without_deferring(
    dags: ModuleType, registry: Any, trigger_runs: TriggerRuns, reads: ReadObserver
) -> None:
    start(registry)
    finish(registry, "SUCCESS", metrics={"rows_written": 3})
    state, xcom = run_sensor(dags, "deferrable", CONF)
    assert state == "success"
    assert xcom["status"] == "SUCCESS"
    assert xcom["metrics"] == {"rows_written": 3}
    assert trigger_runs.count == 0  # decided by the one look in the worker
    assert reads.statuses == ["SUCCESS"]


@pytest.mark.parametrize("soft_fail", [False, True], ids=["hard", "soft_fail"])
def test_deferrable_sensor_on_a_failed_run_fails_without_deferring(
    soft_fail: bool, dags: ModuleType, registry: Any, trigger_runs: TriggerRuns
) -> None:
    start(registry)
    finish(registry, "FAILED", error_type="ValueError", error_message="bad rows")
    state, error = run_sensor(dags, "deferrable", CONF, soft_fail=soft_fail, timeout=600)
    assert state == "failed"
    assert isinstance(error, PipelineRunFailedError)
    assert "ended as FAILED: ValueError: bad rows" in str(error)
    assert trigger_runs.count == 0


def test_deferrable_sensor_on_a_running_run_defers_once(
    dags: ModuleType, registry: Any, trigger_runs: TriggerRuns, reads: ReadObserver
) -> None:
    start(registry)

    def finish_after_the_worker_looked() -> None:
        # the worker's look and at least one of the trigger's saw RUNNING: finish the run
        if reads.wait_for(lambda seen: seen.count("RUNNING") >= 2):
            finish(registry, "SUCCESS")

    pipeline = threading.Thread(target=finish_after_the_worker_looked)
    pipeline.start()
    state, xcom = run_sensor(dags, "deferrable", CONF)
    reads.close()
    pipeline.join()
    assert state == "success"
    assert xcom["status"] == "SUCCESS"
    assert trigger_runs.count == 1


def test_deferrable_default_comes_from_operators_default_deferrable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE", raising=False)
    assert PipelineRunStateSensor(task_id="a", pipeline_id=PIPELINE, run_id="r").deferrable is False
    monkeypatch.setenv("AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE", "True")
    assert PipelineRunStateSensor(task_id="b", pipeline_id=PIPELINE, run_id="r").deferrable is True
    # an explicit argument wins over the configuration
    assert PipelineRunStateSensor(task_id="c", pipeline_id=PIPELINE, run_id="r", deferrable=False).deferrable is False


def test_default_deferrable_sensor_waits_in_the_triggerer(
    dags: ModuleType, registry: Any, trigger_runs: TriggerRuns, reads: ReadObserver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With ``[operators] default_deferrable = True`` a sensor given no ``deferrable`` defers under dag.test()."""
    monkeypatch.setenv("AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE", "True")
    start(registry)

    def finish_later() -> None:
        if reads.wait_for(lambda seen: seen.count("RUNNING") >= 2):
            finish(registry, "SUCCESS")

    pipeline = threading.Thread(target=finish_later)
    pipeline.start()
    state, xcom = run_sensor(dags, "poke", CONF, deferrable=None)  # None: as if the DAG did not pass it
    reads.close()
    pipeline.join()
    assert state == "success"
    assert xcom["status"] == "SUCCESS"
    assert trigger_runs.count == 1

"""The registry operators and callbacks called directly (no dag.test()), against DynamoDB Local.

A small stand-in task instance gives the context; every registry write is real. These cover the
edge cases that would each cost seconds as a dag.test(): duplicate and stale starts, explicit
statuses, the status verdict from task states, conflicts, and callbacks that must never raise.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from airflow_connections import TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY, registry_connection, set_connection

from airflow_provider_pipeline_registry.callbacks import record_run_failure, record_run_success
from airflow_provider_pipeline_registry.compat import AirflowException, AirflowSkipException
from airflow_provider_pipeline_registry.operators.pipeline_registry import (
    EndPipelineRunOperator,
    LoadPipelineConfigOperator,
    StartPipelineRunOperator,
    to_json_value,
)
from airflow_provider_pipeline_registry.registry.errors import ValidationError
from airflow_provider_pipeline_registry.registry.run_env import derive_run_id, run_logger_env
from airflow_provider_pipeline_registry.registry.run_logs.models import RunStatus
from airflow_provider_pipeline_registry.run_context import spark_env_template, spark_task_env

pytestmark = [pytest.mark.airflow, pytest.mark.integration]

DAG_ID = "direct_dag"
DAG_RUN_ID = "manual__2026-03-08T06:59:30+00:00"
LOGICAL_DATE = datetime(2026, 3, 8, 6, 59, 30, tzinfo=UTC)
PIPELINE = "direct_pipeline"
RUN_ID = derive_run_id(DAG_ID, DAG_RUN_ID)


class FakeTI:
    """The parts of a RuntimeTaskInstance the operators use."""

    def __init__(self, task_id: str, try_number: int = 1, states: dict[str, str | None] | None = None) -> None:
        self.dag_id = DAG_ID
        self.task_id = task_id
        self.try_number = try_number
        self.map_index = -1
        self.states = states or {}
        self.xcom: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcom[key] = value

    def get_task_states(self, *, dag_id: str, task_ids: list[str], run_ids: list[str]) -> dict[str, Any]:
        assert dag_id == DAG_ID
        assert run_ids == [DAG_RUN_ID]
        return {DAG_RUN_ID: {k: v for k, v in self.states.items() if k.rsplit("_", 1)[0] in task_ids or k in task_ids}}


def context(ti: FakeTI, **extra: Any) -> dict[str, Any]:
    return {
        "ti": ti,
        "task": SimpleNamespace(task_group=None),
        "run_id": DAG_RUN_ID,
        "dag_run": SimpleNamespace(run_id=DAG_RUN_ID, dag_id=DAG_ID),
        "logical_date": LOGICAL_DATE,
        **extra,
    }


@pytest.fixture
def reg(registry_hook: Any) -> Any:
    registry = registry_hook.registry
    registry.pipelines_write.create({"pipeline_id": PIPELINE, "name": "Direct", "spark_application": "job.py"})
    return registry


def start(conn_id: str, try_number: int = 1) -> str:
    op = StartPipelineRunOperator(task_id="start", pipeline_id=PIPELINE, aws_conn_id=conn_id)
    return op.execute(context(FakeTI("start", try_number)))  # type: ignore[arg-type]


def end_with_states(conn_id: str, states: dict[str, str | None], **kwargs: Any) -> dict[str, str]:
    from airflow.providers.common.compat.sdk import DAG

    with DAG(dag_id=DAG_ID, schedule=None, start_date=LOGICAL_DATE):
        op = EndPipelineRunOperator(
            task_id="end", pipeline_id=PIPELINE, aws_conn_id=conn_id, watched_task_ids=["a", "b", "c"], **kwargs
        )
        for task_id in ("a", "b", "c"):
            StartPipelineRunOperator(task_id=task_id, pipeline_id=PIPELINE)
    return op.execute(context(FakeTI("end", states=states)))  # type: ignore[arg-type]


def test_to_json_value_makes_plain_json() -> None:
    from decimal import Decimal

    value = {"at": datetime(2026, 3, 8, 1, 59, 30, tzinfo=UTC), "n": Decimal("3"), "f": Decimal("1.5"), "t": (1,)}
    assert to_json_value(value) == {"at": "2026-03-08T01:59:30.000000Z", "n": 3, "f": 1.5, "t": [1]}


def test_templated_fields() -> None:
    assert {"pipeline_id", "run_id"} <= set(LoadPipelineConfigOperator.template_fields)
    assert {"pipeline_id", "run_id"} <= set(StartPipelineRunOperator.template_fields)
    assert {"pipeline_id", "run_id", "status"} <= set(EndPipelineRunOperator.template_fields)


def test_start_is_idempotent_per_try_and_restarts_on_a_higher_try(registry_conn_id: str, reg: Any) -> None:
    assert start(registry_conn_id) == RUN_ID
    first = reg.runs.find_entity(RUN_ID, PIPELINE, consistent=True)
    assert (first.dag_id, first.dag_run_id, first.task_id, first.try_number) == (DAG_ID, DAG_RUN_ID, "start", 1)
    assert first.logical_date == LOGICAL_DATE
    assert first.map_index == -1

    assert start(registry_conn_id) == RUN_ID  # same try again: a no-op
    assert reg.runs.find_entity(RUN_ID, PIPELINE, consistent=True).start_time == first.start_time

    start(registry_conn_id, try_number=2)  # retry: the same run restarts
    second = reg.runs.find_entity(RUN_ID, PIPELINE, consistent=True)
    assert second.try_number == 2
    assert second.start_time > first.start_time

    reg.runs_write.finish({"run_id": RUN_ID, "pipeline_id": PIPELINE, "status": "SUCCESS"})
    with pytest.raises(AirflowException, match="would reopen it and is refused"):
        start(registry_conn_id, try_number=2)  # a late start of the finished try
    start(registry_conn_id, try_number=3)  # a clear: a new attempt
    assert reg.runs.find_entity(RUN_ID, PIPELINE, consistent=True).status is RunStatus.RUNNING
    assert len(list(reg.runs.iter_by_pipeline(PIPELINE))) == 1


def test_end_status_from_task_states(registry_conn_id: str, reg: Any) -> None:
    start(registry_conn_id)
    result = end_with_states(registry_conn_id, {"a": "success", "b": "skipped", "c": "success"})
    assert result == {"run_id": RUN_ID, "status": "SUCCESS"}  # skipped counts as success

    start(registry_conn_id, try_number=2)
    states = {"a": "failed", "b": "upstream_failed", "c_0": "success", "c_1": "failed"}
    with pytest.raises(AirflowException, match="FAILED: failed task\\(s\\): a, c_1; upstream failed: b"):
        end_with_states(registry_conn_id, states)
    run = reg.runs.find_entity(RUN_ID, PIPELINE, consistent=True)
    assert run.status is RunStatus.FAILED
    assert run.error_type == "TaskFailed"
    assert run.error_message == "failed task(s): a, c_1; upstream failed: b"

    # a duplicate end is a no-op (and still reports the failure)
    with pytest.raises(AirflowException, match="FAILED"):
        end_with_states(registry_conn_id, states)
    assert end_with_states(registry_conn_id, states, fail_on_pipeline_failure=False)["status"] == "FAILED"
    assert reg.runs.find_entity(RUN_ID, PIPELINE, consistent=True).end_time == run.end_time


def test_end_skips_when_nothing_ran_and_fails_when_nothing_was_started(registry_conn_id: str, reg: Any) -> None:
    with pytest.raises(AirflowSkipException, match="every watched task was skipped"):
        end_with_states(registry_conn_id, {"a": "skipped", "b": "skipped", "c": "skipped"})
    assert list(reg.runs.iter_by_pipeline(PIPELINE)) == []
    # the load (or start) failed, so nothing was started: the end says so, with the failed tasks
    states = {"a": "failed", "b": "upstream_failed", "c": "upstream_failed"}
    with pytest.raises(AirflowException, match=r"never started, so FAILED cannot be recorded \(failed task\(s\): a;"):
        end_with_states(registry_conn_id, states)


def test_end_with_explicit_status_and_errors(registry_conn_id: str, reg: Any) -> None:
    # ``status`` is a template field: checked once rendered, in execute (Airflow's operator rule),
    # before anything is read or written
    bad = EndPipelineRunOperator(task_id="e", pipeline_id=PIPELINE, aws_conn_id=registry_conn_id, status="RUNNING")
    with pytest.raises(ValidationError, match="status must be SUCCESS, FAILED or CANCELLED, got 'RUNNING'") as info:
        bad.execute(context(FakeTI("e")))  # type: ignore[arg-type]
    assert info.value.field == "status"
    assert list(reg.runs.iter_by_pipeline(PIPELINE)) == []  # refused before the "never started" read
    templated = EndPipelineRunOperator(task_id="e2", pipeline_id=PIPELINE, status="{{ params.status }}")
    assert templated.trigger_rule == "all_done"

    never = EndPipelineRunOperator(task_id="e3", pipeline_id=PIPELINE, aws_conn_id=registry_conn_id, status="SUCCESS")
    with pytest.raises(AirflowException, match="was never started"):
        never.execute(context(FakeTI("e3")))  # type: ignore[arg-type]

    start(registry_conn_id)
    op = EndPipelineRunOperator(
        task_id="e4", pipeline_id=PIPELINE, aws_conn_id=registry_conn_id, status="cancelled", error_message="stopped"
    )
    assert op.execute(context(FakeTI("e4"))) == {"run_id": RUN_ID, "status": "CANCELLED"}  # type: ignore[arg-type]
    run = reg.runs.find_entity(RUN_ID, PIPELINE, consistent=True)
    assert (run.status, run.error_message) == (RunStatus.CANCELLED, "stopped")

    # a different end over a recorded one is not written; the task fails naming the real status
    with pytest.raises(AirflowException, match="was CANCELLED: stopped"):
        end_with_states(registry_conn_id, {"a": "failed", "b": "success", "c": "success"})
    assert reg.runs.find_entity(RUN_ID, PIPELINE, consistent=True).status is RunStatus.CANCELLED


DRIVER = Path(__file__).parent.parent / "unit" / "jobs" / "logged_driver.py"


def start_driver(reg: Any, mode: str = "sleep") -> subprocess.Popen[str]:
    """A real run-logger driver (a subprocess) that claims the attempt the start operator opened."""
    opened = reg.runs.find_entity(RUN_ID, PIPELINE, consistent=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW_CTX_", "PIPELINE_REGISTRY_"))}
    env.update(run_logger_env(reg.config, pipeline_id=PIPELINE, run_id=RUN_ID, heartbeat_seconds=0.3))
    env.update({"PIPELINE_REGISTRY_TRY_NUMBER": "1", "PIPELINE_REGISTRY_TASK_ID": "b"})
    env["PIPELINE_REGISTRY_ATTEMPT_ID"] = opened.attempt_id
    driver = subprocess.Popen(
        [sys.executable, str(DRIVER), mode], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert driver.stdout is not None
    assert driver.stdout.readline().strip() == "READY", driver.stderr.read() if driver.stderr else ""
    return driver


def test_end_waits_for_a_live_driver_and_reports_its_own_cancelled(registry_conn_id: str, reg: Any) -> None:
    """The Spark task was marked failed; Airflow runs the end (all_done) while the driver still
    runs; the supervisor's SIGTERM reaches the driver a moment later. One outcome: CANCELLED,
    recorded by the driver itself (a true end time), reported as CANCELLED by the end."""
    start(registry_conn_id)
    driver = start_driver(reg)
    try:
        supervisor = threading.Timer(1.0, driver.send_signal, (signal.SIGTERM,))
        supervisor.start()
        with pytest.raises(AirflowException, match="was CANCELLED: SIGTERM received"):
            end_with_states(registry_conn_id, {"a": "success", "b": "failed", "c": "success"}, driver_poll_interval=0.2)
        assert driver.wait(timeout=60) == 128 + signal.SIGTERM
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()
    run = reg.runs.find_entity(RUN_ID, PIPELINE, consistent=True)
    assert (run.status, run.error_type, run.error_message) == (RunStatus.CANCELLED, "Cancelled", "SIGTERM received")
    assert (run.task_id, run.try_number) == ("b", 1)  # the task that ran the job


def test_end_records_its_verdict_fenced_after_the_wait_and_the_driver_cannot_override(
    registry_conn_id: str, reg: Any
) -> None:
    start(registry_conn_id)
    driver = start_driver(reg)
    try:
        with pytest.raises(AirflowException, match="FAILED: failed task\\(s\\): b"):
            end_with_states(
                registry_conn_id,
                {"a": "success", "b": "failed", "c": "success"},
                driver_end_timeout=0.5,
                driver_poll_interval=0.1,
            )
        driver.send_signal(signal.SIGTERM)
        assert driver.wait(timeout=60) == 128 + signal.SIGTERM
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()
    run = reg.runs.find_entity(RUN_ID, PIPELINE, consistent=True)
    assert (run.status, run.error_type) == (RunStatus.FAILED, "TaskFailed")  # the driver's later end was refused


def test_spark_task_env_templates_render_the_spark_tasks_own_identity() -> None:
    from jinja2 import Template

    ti = FakeTI("spark", try_number=3)
    ti.xcom_pull = lambda task_ids, key: f"{task_ids}:{key}"  # type: ignore[attr-defined]
    rendered = {k: Template(v).render(ti=ti) for k, v in spark_task_env(start_task_id="grp.start_run").items()}
    assert rendered == {
        "PIPELINE_REGISTRY_TRY_NUMBER": "3",
        "PIPELINE_REGISTRY_TASK_ID": "spark",
        "PIPELINE_REGISTRY_ATTEMPT_ID": "grp.start_run:attempt_id",
    }


def test_spark_env_template_renders_one_dict_natively() -> None:
    from jinja2.nativetypes import NativeEnvironment

    ti = FakeTI("spark", try_number=2)
    xcoms = {("load_config", "run_logger_env"): {"PIPELINE_REGISTRY_RUN_ID": "r"}, ("start_run", "attempt_id"): "a1"}
    ti.xcom_pull = lambda task_ids, key: xcoms.get((task_ids, key))  # type: ignore[attr-defined]
    env = NativeEnvironment().from_string(spark_env_template()).render(ti=ti)
    assert env == {
        "PIPELINE_REGISTRY_RUN_ID": "r",
        "PIPELINE_REGISTRY_TRY_NUMBER": "2",
        "PIPELINE_REGISTRY_TASK_ID": "spark",
        "PIPELINE_REGISTRY_ATTEMPT_ID": "a1",
    }


def test_start_pushes_the_attempt_it_opened(registry_conn_id: str, reg: Any) -> None:
    op = StartPipelineRunOperator(task_id="start", pipeline_id=PIPELINE, aws_conn_id=registry_conn_id)
    ti = FakeTI("start")
    op.execute(context(ti))  # type: ignore[arg-type]
    run = reg.runs.find_entity(RUN_ID, PIPELINE, consistent=True)
    assert ti.xcom["attempt_id"] == run.attempt_id
    assert (run.start_task_id, run.attempt_claimed) == ("start", None)


def test_load_inactive_pipeline_can_fail_instead_of_skipping(registry_conn_id: str, reg: Any) -> None:
    reg.pipelines_write.update(PIPELINE, {"is_active": False})
    op = LoadPipelineConfigOperator(
        task_id="load", pipeline_id=PIPELINE, aws_conn_id=registry_conn_id, skip_if_inactive=False
    )
    with pytest.raises(AirflowException, match=r"is inactive .* and skip_if_inactive=False"):
        op.execute(context(FakeTI("load")))  # type: ignore[arg-type]
    op = LoadPipelineConfigOperator(task_id="load", pipeline_id=PIPELINE, aws_conn_id=registry_conn_id)
    with pytest.raises(AirflowSkipException, match=r"updated \d{4}-\d\d-\d\d \d\d:\d\d:\d\d E[SD]T \("):
        op.execute(context(FakeTI("load")))  # type: ignore[arg-type]


def test_load_passes_an_explicit_run_id_and_try_number_to_the_run_logger(registry_conn_id: str, reg: Any) -> None:
    op = LoadPipelineConfigOperator(
        task_id="load", pipeline_id=PIPELINE, aws_conn_id=registry_conn_id, run_id="custom-run", try_number="3"
    )
    ti = FakeTI("load")
    value = op.execute(context(ti))  # type: ignore[arg-type]
    assert value["run_id"] == "custom-run"
    assert value["tables"] == []
    assert ti.xcom["run_logger_env"]["PIPELINE_REGISTRY_RUN_ID"] == "custom-run"
    assert ti.xcom["run_logger_env"]["PIPELINE_REGISTRY_TRY_NUMBER"] == "3"
    assert ti.xcom["application"] == "job.py"


# -- callbacks -------------------------------------------------------------------------------------


def test_failure_callback_records_the_exception_once(registry_conn_id: str, reg: Any) -> None:
    start(registry_conn_id)
    callback = record_run_failure(pipeline_id=PIPELINE, aws_conn_id=registry_conn_id)
    ctx = context(FakeTI("spark", try_number=2), exception=KeyError("missing column 'amount'"))
    callback(ctx)
    run = reg.runs.find_entity(RUN_ID, PIPELINE, consistent=True)
    assert run.status is RunStatus.FAILED
    assert run.error_type == "KeyError"
    assert run.error_message == "task spark (try 2): \"missing column 'amount'\""
    callback(ctx)  # re-delivered: a no-op
    assert reg.runs.find_entity(RUN_ID, PIPELINE, consistent=True).end_time == run.end_time
    assert "pipeline_id='direct_pipeline'" in repr(callback)


def test_dag_level_callbacks_use_the_reason_and_the_dag_level_run(registry_conn_id: str, reg: Any) -> None:
    # a DAG-level context carries "reason" and (the last task's) "task": the run id must not use its group
    group_task = SimpleNamespace(task_group=SimpleNamespace(group_id="some_group"))
    start(registry_conn_id)
    record_run_failure(pipeline_id=PIPELINE, aws_conn_id=registry_conn_id)(
        context(FakeTI("boom"), task=group_task, reason="task_failure")
    )
    run = reg.runs.find_entity(RUN_ID, PIPELINE, consistent=True)
    assert (run.status, run.error_type) == (RunStatus.FAILED, "DagRunFailed")
    assert run.error_message == "dag run failed: task_failure; last task: boom"


def test_success_callback_on_a_task_group_run_and_with_a_callable_run_id(registry_conn_id: str, reg: Any) -> None:
    group_run = derive_run_id(DAG_ID, DAG_RUN_ID, "grp")
    reg.runs_write.start({"run_id": group_run, "pipeline_id": PIPELINE})
    task = SimpleNamespace(task_group=SimpleNamespace(group_id="grp"))
    record_run_success(pipeline_id=PIPELINE, aws_conn_id=registry_conn_id)(context(FakeTI("grp.spark"), task=task))
    assert reg.runs.find_entity(group_run, PIPELINE, consistent=True).status is RunStatus.SUCCESS

    reg.runs_write.start({"run_id": "picked", "pipeline_id": PIPELINE})
    record_run_success(pipeline_id=PIPELINE, aws_conn_id=registry_conn_id, run_id=lambda ctx: "picked")(
        context(FakeTI("x"))
    )
    assert reg.runs.find_entity("picked", PIPELINE, consistent=True).status is RunStatus.SUCCESS


def test_callbacks_never_raise(
    registry_conn_id: str, reg: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    # a run that already ended otherwise: a warning, not an exception
    start(registry_conn_id)
    reg.runs_write.finish({"run_id": RUN_ID, "pipeline_id": PIPELINE, "status": "SUCCESS"})
    record_run_failure(pipeline_id=PIPELINE, aws_conn_id=registry_conn_id)(context(FakeTI("t")))
    assert "already ended as SUCCESS; FAILED not recorded" in caplog.text
    assert reg.runs.find_entity(RUN_ID, PIPELINE, consistent=True).status is RunStatus.SUCCESS

    # a run that was never started, and a registry that cannot be reached: logged, never raised
    other = derive_run_id(DAG_ID, "other-run")
    record_run_success(pipeline_id=PIPELINE, aws_conn_id=registry_conn_id, run_id=other)(context(FakeTI("t")))
    assert f"could not record SUCCESS for run {other!r} of pipeline 'direct_pipeline': ItemNotFoundError" in caplog.text
    down = registry_connection("http://127.0.0.1:9", "gone_", max_attempts=1, connect_timeout=1)
    set_connection(monkeypatch, "pr_unreachable", down)
    record_run_failure(pipeline_id=PIPELINE, aws_conn_id="pr_unreachable")(
        context(FakeTI("t"), exception=RuntimeError("x"))
    )
    assert f"could not record FAILED for run {RUN_ID!r} of pipeline 'direct_pipeline': " in caplog.text
    # a misconfigured connection (unknown timezone): logged, never raised
    bad = registry_connection("http://127.0.0.1:9", "bad_", user_timezone="Mars/Olympus_Mons")
    set_connection(monkeypatch, "pr_misconfigured", bad)
    record_run_failure(pipeline_id=PIPELINE, aws_conn_id="pr_misconfigured")(context(FakeTI("t")))
    assert "Mars/Olympus_Mons" in caplog.text
    assert caplog.text.count("pipeline-registry callback could not record") == 3
    assert TEST_ACCESS_KEY_ID not in caplog.text
    assert TEST_SECRET_ACCESS_KEY not in caplog.text


def test_failure_callback_keeps_the_end_of_a_long_spark_traceback(registry_conn_id: str, reg: Any) -> None:
    """Issue 21 item 9: the callback's error is the package's one truncation (head and tail), not the
    first 4,000 characters, so the exception named on the last line survives."""
    from spark_traceback import LAST_LINE, spark_traceback

    from airflow_provider_pipeline_registry.registry.text_limits import MAX_ERROR_BYTES

    start(registry_conn_id)
    callback = record_run_failure(pipeline_id=PIPELINE, aws_conn_id=registry_conn_id)
    callback(context(FakeTI("spark"), exception=RuntimeError(spark_traceback())))
    run = reg.runs.find_entity(RUN_ID, PIPELINE, consistent=True)
    assert run.error_type == "RuntimeError"
    assert run.error_message.startswith("task spark (try 1): An error occurred while calling")
    assert run.error_message.endswith(LAST_LINE)
    assert len(run.error_message.encode()) <= MAX_ERROR_BYTES


# -- secrets in the config (redaction) --------------------------------------------------------------
def test_the_spark_tasks_masked_values_the_config_no_longer_has_fail_the_task(registry_conn_id: str, reg: Any) -> None:
    from airflow_provider_pipeline_registry.callbacks import resolve_pipeline_secrets

    reg.pipelines_write.update(
        PIPELINE, {"spark_conf": {"spark.x.secret": "old-secret-1234"}, "spark_args": ["--token", "t-12345"]}
    )
    ti = FakeTI("load")
    LoadPipelineConfigOperator(task_id="load", pipeline_id=PIPELINE, aws_conn_id=registry_conn_id).execute(
        context(ti)  # type: ignore[arg-type]
    )
    assert ti.xcom["spark_conf"] == {"spark.x.secret": "***"}
    assert ti.xcom["application_args"] == ["--token", "***"]
    task = SimpleNamespace(task_id="spark", conf=dict(ti.xcom["spark_conf"]), application_args=["--token", "***"])
    resolve = resolve_pipeline_secrets(pipeline_id=PIPELINE, aws_conn_id=registry_conn_id)
    resolve({"ti": SimpleNamespace(task=task)})
    assert (task.conf, task.application_args) == ({"spark.x.secret": "old-secret-1234"}, ["--token", "t-12345"])

    reg.pipelines_write.update(PIPELINE, {"spark_conf": {}})  # the secret left the config since the load
    task = SimpleNamespace(task_id="spark", conf={"spark.x.secret": "***"}, application_args=[])
    with pytest.raises(AirflowException, match=r"conf\['spark.x.secret'\] of task spark hold\(s\) a masked value"):
        resolve({"ti": SimpleNamespace(task=task)})


def test_end_never_repeats_a_secret_of_the_runs_error(registry_conn_id: str, reg: Any) -> None:
    start(registry_conn_id)
    reg.runs_write.finish(
        {
            "run_id": RUN_ID,
            "pipeline_id": PIPELINE,
            "status": "FAILED",
            "error_type": "DriverError",
            "error_message": "cannot connect to jdbc:postgresql://etl:errPassw0rd-4410@db/x",
        }
    )
    with pytest.raises(AirflowException) as info:
        end_with_states(registry_conn_id, {"a": "failed", "b": "success", "c": "success"})
    assert "jdbc:postgresql://***@db/x" in str(info.value)
    assert "errPassw0rd-4410" not in str(info.value)


# -- notifiers: the same end policy as EndPipelineRunOperator -----------------------------------------
def claimed_by_a_live_driver(reg: Any, conn_id: str) -> str:
    """Start the run, and let a driver (the Spark task's run logger) claim its attempt."""
    from airflow_provider_pipeline_registry.registry.run_logs.models import RunStart

    start(conn_id)
    opened = reg.runs_write.current(RUN_ID, PIPELINE)
    driver = RunStart(run_id=RUN_ID, pipeline_id=PIPELINE, task_id="spark", try_number=1, attempt_id="driver-1")
    joined = reg.runs_write.join(driver, opened_attempt_id=opened.attempt_id)
    assert joined.attempt_claimed
    return str(joined.attempt_id)


def test_the_failure_notifier_waits_for_a_live_driver_like_the_end_operator(
    registry_conn_id: str, reg: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """The old callback wrote FAILED at once over a run whose driver was alive; the notifier follows
    the end operator's policy (registry.run_logs.ending): it waits (bounded) for the driver's own end,
    then records FAILED fenced on the driver's attempt."""
    from airflow_provider_pipeline_registry.notifications import PipelineRunFailureNotifier

    caplog.set_level(logging.INFO)
    attempt = claimed_by_a_live_driver(reg, registry_conn_id)
    notifier = PipelineRunFailureNotifier(
        pipeline_id=PIPELINE, aws_conn_id=registry_conn_id, driver_end_timeout=0.6, driver_poll_interval=0.2
    )
    notifier(context(FakeTI("spark"), exception=RuntimeError("executor lost")))
    assert "waiting up to 0.6s for the driver to record its own end" in caplog.text
    assert f"the driver of attempt {attempt} did not record its end within 0.6s" in caplog.text
    run = reg.runs.find_entity(RUN_ID, PIPELINE, consistent=True)
    assert (run.status, run.attempt_id, run.error_type) == (RunStatus.FAILED, attempt, "RuntimeError")


def test_the_end_operator_and_the_notifiers_agree_on_an_ended_run(
    registry_conn_id: str, reg: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """The driver recorded CANCELLED: neither the end operator nor a notifier writes over it."""
    from airflow_provider_pipeline_registry.notifications import PipelineRunSuccessNotifier

    caplog.set_level(logging.INFO)
    attempt = claimed_by_a_live_driver(reg, registry_conn_id)
    reg.runs_write.finish({"run_id": RUN_ID, "pipeline_id": PIPELINE, "status": "CANCELLED", "attempt_id": attempt})
    ended = reg.runs.find_entity(RUN_ID, PIPELINE, consistent=True)
    PipelineRunSuccessNotifier(pipeline_id=PIPELINE, aws_conn_id=registry_conn_id)(context(FakeTI("spark")))
    assert "already ended as CANCELLED; SUCCESS not recorded over it" in caplog.text
    result = end_with_states(
        registry_conn_id, {"a": "success", "b": "success", "c": "success"}, fail_on_pipeline_failure=False
    )
    assert result == {"run_id": RUN_ID, "status": "CANCELLED"}
    after = reg.runs.find_entity(RUN_ID, PIPELINE, consistent=True)
    assert (after.status, after.end_time) == (RunStatus.CANCELLED, ended.end_time)


def test_notifiers_are_base_notifiers_with_templated_connection_arguments(registry_conn_id: str, reg: Any) -> None:
    """BaseNotifier (airflow.sdk on Airflow 3, airflow.notifications on 2.11) renders pipeline_id and
    the connection arguments against the callback's context, and leaves the context's run_id (the
    dag run id the pipeline run id is derived from) alone."""
    from airflow.providers.common.compat.notifier import BaseNotifier

    from airflow_provider_pipeline_registry.callbacks import record_run_success
    from airflow_provider_pipeline_registry.notifications import PipelineRunSuccessNotifier

    start(registry_conn_id)
    notifier = PipelineRunSuccessNotifier(pipeline_id="{{ params.pipeline }}", aws_conn_id="{{ params.conn }}")
    assert isinstance(notifier, BaseNotifier)
    assert isinstance(record_run_success(pipeline_id=PIPELINE), PipelineRunSuccessNotifier)
    ctx = context(FakeTI("spark"), params={"pipeline": PIPELINE, "conn": registry_conn_id})
    notifier(ctx)
    assert (notifier.pipeline_id, notifier.aws_conn_id) == (PIPELINE, registry_conn_id)
    assert ctx["run_id"] == DAG_RUN_ID
    assert reg.runs.find_entity(RUN_ID, PIPELINE, consistent=True).status is RunStatus.SUCCESS

    # a DAG-level callback's context may hold a SerializedDAG, which has no Jinja environment (Airflow 3)
    dag_level = derive_run_id(DAG_ID, "dag-level-run")
    reg.runs_write.start({"run_id": dag_level, "pipeline_id": PIPELINE})
    serialized_dag = SimpleNamespace(dag_id=DAG_ID)
    notifier = PipelineRunSuccessNotifier(pipeline_id="{{ params.pipeline }}", aws_conn_id=registry_conn_id)
    notifier({"dag": serialized_dag, "run_id": "dag-level-run", "reason": "success", "params": {"pipeline": PIPELINE}})
    assert reg.runs.find_entity(dag_level, PIPELINE, consistent=True).status is RunStatus.SUCCESS

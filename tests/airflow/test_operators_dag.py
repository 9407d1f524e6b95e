"""The registry operators and callbacks end to end: real Airflow ``dag.test()`` against DynamoDB Local.

The DAGs live in tests/dags/registry_operators_dags.py. Each test points the DAGs' connection
(``pr_operators``) at DynamoDB Local with the per-test table prefix of ``registry_conn_id`` and a
user timezone of America/New_York, so logs can be checked for the user-timezone rendering.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from types import ModuleType
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from airflow_connections import TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY  # tests/airflow/conftest.py
from dag_modules import load_dag_module

from airflow_provider_pipeline_registry.registry.run_env import derive_run_id
from airflow_provider_pipeline_registry.registry.run_logs.models import PipelineRunLog, RunStatus

pytestmark = [pytest.mark.airflow, pytest.mark.integration]

USER_TZ = "America/New_York"
DISPLAY = re.compile(
    r"(?P<local>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) (?P<abbr>E[SD]T) \((?P<utc>(\d{4}-\d\d-\d\d )?\d\d:\d\d:\d\d) UTC\)"
)


@pytest.fixture(scope="module")
def dags(airflow_db: Any) -> ModuleType:
    """The DAG module, imported once (dag.test() also parses it from the dags folder)."""
    return load_dag_module("registry_operators_dags.py")


@pytest.fixture
def registry(registry_conn_id: str, registry_hook: Any, monkeypatch: pytest.MonkeyPatch, dags: ModuleType) -> Any:
    """The registry the DAGs write to, seeded with an active and an inactive pipeline."""
    conn = json.loads(os.environ[f"AIRFLOW_CONN_{registry_conn_id.upper()}"])
    conn.setdefault("extra", {})
    if isinstance(conn["extra"], str):
        conn["extra"] = json.loads(conn["extra"])
    conn["extra"]["user_timezone"] = USER_TZ
    monkeypatch.setenv(f"AIRFLOW_CONN_{dags.CONN_ID.upper()}", json.dumps(conn))
    reg = registry_hook.registry
    reg.pipelines_write.create(
        {
            "pipeline_id": dags.PIPELINE_ID,
            "name": "Orders per day",
            "owner": "data-eng",
            "spark_application": "s3://jobs/orders_daily.py",
            "spark_conf": {"spark.executor.memory": "2g", "spark.sql.shuffle.partitions": "8"},
            "spark_args": ["--date", "2026-03-08"],
            "parameters": {"threshold": 10, "regions": ["eu", "us"]},
        }
    )
    reg.pipelines_write.create({"pipeline_id": dags.INACTIVE_PIPELINE_ID, "name": "Paused", "is_active": False})
    for table_id, active in (("orders_raw", True), ("orders_agg", True), ("orders_legacy", False)):
        reg.tables_write.create(
            {
                "table_id": table_id,
                "pipeline_id": dags.PIPELINE_ID,
                "table_name": table_id,
                "role": "target" if table_id == "orders_agg" else "source",
                "location": f"s3://lake/{table_id}",
                "is_active": active,
            }
        )
    return reg


def task_states(dr: Any) -> dict[str, str | None]:
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        tis = session.scalars(
            select(TaskInstance).where(TaskInstance.dag_id == dr.dag_id, TaskInstance.run_id == dr.run_id)
        ).all()
        return {ti.task_id: (str(getattr(ti.state, "value", ti.state)) if ti.state else None) for ti in tis}


def try_numbers(dr: Any) -> dict[str, int]:
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        tis = session.scalars(
            select(TaskInstance).where(TaskInstance.dag_id == dr.dag_id, TaskInstance.run_id == dr.run_id)
        ).all()
        return {ti.task_id: ti.try_number for ti in tis}


def xcoms(dr: Any, task_id: str) -> dict[str, Any]:
    from airflow_versions import xcom_rows

    return {key: value for _, key, value in xcom_rows(dr, task_id)}


def runs_of(registry: Any, pipeline_id: str) -> list[PipelineRunLog]:
    """Every stored run of ``pipeline_id`` (base table scan through the GSI is eventual; use a scan)."""
    views = list(registry.runs.iter_by_pipeline(pipeline_id))
    return [registry.runs.find_entity(v.run_id, pipeline_id, consistent=True) for v in views]


def stored_run(registry: Any, run_id: str, pipeline_id: str) -> PipelineRunLog:
    run = registry.runs.find_entity(run_id, pipeline_id, consistent=True)
    assert run is not None, f"no run {run_id!r}"
    return run


@pytest.fixture
def task_log(capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> Iterator[Any]:
    """``task_log()``: what the tasks logged so far (task logs go to stdout under dag.test())."""
    caplog.set_level("INFO")
    seen: list[str] = []

    def read() -> str:
        captured = capsys.readouterr()
        seen.append(captured.out + captured.err)
        return "".join(seen) + caplog.text

    return read


def test_successful_dag_loads_config_and_records_running_then_success(
    dags: ModuleType, registry: Any, task_log: Any
) -> None:
    before = datetime.now(UTC)
    dr = dags.success_dag.test()
    after = datetime.now(UTC)

    assert task_states(dr) == {"load": "success", "start": "success", "spark": "success", "end": "success"}
    assert str(dr.state) in {"success", "DagRunState.SUCCESS"}
    run_id = derive_run_id("pr_ops_success", dr.run_id)

    # -- XCom: plain JSON config, and what the Spark task needs
    load = xcoms(dr, "load")
    value = load["return_value"]
    assert value["run_id"] == run_id
    assert value["pipeline"]["pipeline_id"] == dags.PIPELINE_ID
    assert value["pipeline"]["parameters"] == {"threshold": 10, "regions": ["eu", "us"]}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", value["pipeline"]["created_at"])
    assert [t["table_id"] for t in value["tables"]] == ["orders_agg", "orders_raw"]  # the inactive one is left out
    assert value["tables"][0]["role"] == "target"
    assert load["spark_conf"] == {"spark.executor.memory": "2g", "spark.sql.shuffle.partitions": "8"}
    assert load["application"] == "s3://jobs/orders_daily.py"
    assert load["application_args"] == ["--date", "2026-03-08"]
    assert load["run_id"] == run_id
    env = load["run_logger_env"]
    assert env["PIPELINE_REGISTRY_PIPELINE_ID"] == dags.PIPELINE_ID
    assert env["PIPELINE_REGISTRY_RUN_ID"] == run_id
    assert "PIPELINE_REGISTRY_TRY_NUMBER" not in env  # the Spark task's own try number is used
    assert env["DYNAMODB_TABLE_PREFIX"] == registry.config.table_prefix
    assert not any("SECRET" in k or "ACCESS_KEY" in k or "TOKEN" in k for k in env)
    dumped = json.dumps(load)
    assert TEST_ACCESS_KEY_ID not in dumped
    assert TEST_SECRET_ACCESS_KEY not in dumped

    # -- templating into SparkSubmitOperator's fields (native rendering and XComArg)
    spark = xcoms(dr, "spark")["return_value"]
    assert spark["types"] == ["str", "dict", "list", "dict"]
    assert spark["conf"] == load["spark_conf"]
    assert spark["application_args"] == load["application_args"]
    assert spark["env_vars"] == env
    # spark_env_template(): the Load task's variables plus the Spark task's own identity, one dict
    started = registry.runs.find_entity(run_id, dags.PIPELINE_ID, consistent=True)
    assert spark["spark_env"] == {
        **env,
        "PIPELINE_REGISTRY_TRY_NUMBER": "1",
        "PIPELINE_REGISTRY_TASK_ID": "spark",
        "PIPELINE_REGISTRY_ATTEMPT_ID": started.attempt_id,
    }

    # -- the run: one entry, SUCCESS, Airflow identity, UTC times
    [run] = runs_of(registry, dags.PIPELINE_ID)
    assert run.run_id == run_id
    assert run.status is RunStatus.SUCCESS
    assert (run.dag_id, run.dag_run_id, run.task_id, run.try_number, run.map_index) == (
        "pr_ops_success",
        dr.run_id,
        "start",
        1,
        -1,
    )
    assert run.logical_date == dr.logical_date
    assert before <= run.start_time <= run.end_time <= after  # type: ignore[operator]
    assert run.start_time.tzinfo is UTC
    assert run.end_time is not None
    assert run.end_time.tzinfo is UTC
    assert run.error_type is None
    assert run.error_message is None
    raw = registry.runs.gateway.get_item({"run_id": {"S": run_id}, "pipeline_id": {"S": dags.PIPELINE_ID}})
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", raw["start_time"]["S"])
    assert "is_running" not in raw  # out of the running-runs index once ended

    # -- task logs show the user's timezone with UTC beside it
    lines = task_log().splitlines()
    started = [line for line in lines if f"Run {run_id} of pipeline" in line and " started " in line]
    assert started, "the start operator logged no start line"
    match = DISPLAY.search(started[0])
    assert match, started[0]
    assert match["utc"].endswith(run.start_time.strftime("%H:%M:%S"))
    local = run.start_time.astimezone(ZoneInfo(USER_TZ))
    assert match["local"] == local.strftime("%Y-%m-%d %H:%M:%S")
    ended = [line for line in lines if "ended SUCCESS at" in line]
    assert ended, "the end operator logged no end line"
    assert DISPLAY.search(ended[0]), ended[0]


def test_failing_middle_task_records_failed_once_by_callback_end_operator_and_dag_callback(
    dags: ModuleType, registry: Any
) -> None:
    dr = dags.failure_dag.test()

    assert "failed" in str(dr.state).lower()
    assert task_states(dr) == {
        "dag_level_start": "success",
        "by_callback.start": "success",
        "by_callback.boom": "failed",
        "by_callback.end": "failed",  # fail_on_pipeline_failure: the dag run reflects the pipeline
        "by_end.start": "success",
        "by_end.boom": "failed",
        "by_end.end": "success",  # fail_on_pipeline_failure=False
    }
    runs = {r.run_id: r for r in runs_of(registry, dags.PIPELINE_ID)}
    by_callback = derive_run_id("pr_ops_failure", dr.run_id, "by_callback")
    by_end = derive_run_id("pr_ops_failure", dr.run_id, "by_end")
    dag_level = derive_run_id("pr_ops_failure", dr.run_id)
    assert sorted(runs) == sorted([by_callback, by_end, dag_level])  # one entry per run, no duplicates

    # the task failure callback got there first: exception type and message, the end was a no-op
    cb = runs[by_callback]
    assert cb.status is RunStatus.FAILED
    assert cb.error_type == "ValueError"
    assert cb.error_message == "task by_callback.boom (try 1): boom in by_callback.boom"
    assert cb.task_id == "by_callback.start"

    # no callback: the end operator recorded FAILED with the failed task ids
    eo = runs[by_end]
    assert eo.status is RunStatus.FAILED
    assert eo.error_type == "TaskFailed"
    assert eo.error_message == "failed task(s): by_end.boom"

    # the DAG-level failure callback ended the DAG-level run with the reason
    dl = runs[dag_level]
    assert dl.status is RunStatus.FAILED
    assert dl.error_type == "DagRunFailed"
    assert dl.error_message is not None
    assert dl.error_message.startswith("dag run failed: ")
    for run in runs.values():
        assert run.end_time is not None
        assert run.end_time.tzinfo is UTC


def test_retried_start_restarts_the_same_run_id(dags: ModuleType, registry: Any, task_log: Any) -> None:
    dr = dags.retry_dag.test()

    assert task_states(dr) == {"start": "success", "end": "success"}
    assert try_numbers(dr)["start"] == 2
    [run] = runs_of(registry, dags.PIPELINE_ID)
    assert run.run_id == derive_run_id("pr_ops_retry", dr.run_id)
    assert run.try_number == 2
    assert run.status is RunStatus.SUCCESS
    # try 1 was started, then ended FAILED by the retry callback; try 2 restarted the same run id
    log = task_log()
    assert re.search(rf"Run {re.escape(run.run_id)} of pipeline 'orders_daily' started .* \(try 1,", log)
    assert re.search(rf"run '{re.escape(run.run_id)}' of pipeline 'orders_daily' ended FAILED at .*RuntimeError", log)
    assert re.search(rf"Run {re.escape(run.run_id)} of pipeline 'orders_daily' started .* \(try 2,", log)
    # ... and the restart cleared the error of the failed attempt
    assert run.error_type is None
    assert run.error_message is None


def test_missing_pipeline_fails_and_inactive_pipeline_skips(dags: ModuleType, registry: Any, task_log: Any) -> None:
    dr = dags.missing_inactive_dag.test()

    assert task_states(dr) == {
        "load_missing": "failed",
        "load_inactive": "skipped",
        "start_inactive": "skipped",
        "end_inactive": "skipped",  # all_done, but nothing ran: no run to end
    }
    assert runs_of(registry, dags.INACTIVE_PIPELINE_ID) == []
    text = task_log()
    assert f"pipeline '{dags.MISSING_PIPELINE_ID}' not found in table" in text
    assert f"pipeline '{dags.INACTIVE_PIPELINE_ID}' is inactive" in text


def test_success_callback_of_a_skipped_task_records_no_success(dags: ModuleType, registry: Any, task_log: Any) -> None:
    dr = dags.skipped_dag.test()

    assert task_states(dr) == {"start": "success", "skipper": "skipped"}
    [run] = runs_of(registry, dags.PIPELINE_ID)
    assert run.run_id == derive_run_id("pr_ops_skipped", dr.run_id)
    # a skip is not a successful run: the run stays as the start left it
    assert run.status is RunStatus.RUNNING
    assert run.end_time is None

"""``PipelineRunTaskGroup`` under real ``dag.test()``: DynamoDB Local, real spark-submit (local[1]).

One call builds load -> start -> Spark -> end; the Spark job gets the registry's application,
conf and arguments, the secrets' real values, its arguments rendered with the task's Airflow
context, and its driver joins the attempt the start task opened; the run records the rendered
arguments, secrets masked. A custom Spark task factory replaces SparkSubmitOperator.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from dag_modules import load_dag_module

from airflow_provider_pipeline_registry.compat import AIRFLOW_V_3_PLUS
from airflow_provider_pipeline_registry.registry.run_env import derive_run_id

pytestmark = [pytest.mark.airflow, pytest.mark.integration]

JOB = Path(__file__).resolve().parents[1] / "spark" / "jobs" / "rendered_args_job.py"
LOGICAL_DATE = datetime(2026, 3, 8, tzinfo=UTC)
ARG_PASSWORD = "tgArgPassw0rd-4242"
CONF_SECRET = "tgConfS3Secret-0101"
PARAM_TOKEN = "tgParamToken-7777"


@pytest.fixture(scope="module")
def dags(airflow_db: Any) -> ModuleType:
    return load_dag_module("pipeline_task_group_dags.py")


@pytest.fixture
def registry(registry_conn_id: str, registry_hook: Any, monkeypatch: pytest.MonkeyPatch, dags: ModuleType) -> Any:
    monkeypatch.setenv(f"AIRFLOW_CONN_{dags.CONN_ID.upper()}", os.environ[f"AIRFLOW_CONN_{registry_conn_id.upper()}"])
    monkeypatch.setenv(f"AIRFLOW_CONN_{dags.SPARK_CONN_ID.upper()}", '{"conn_type": "spark", "host": "local[1]"}')
    monkeypatch.setenv("PYSPARK_PYTHON", sys.executable)
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    return registry_hook.registry


def run_dag(dag: Any) -> Any:
    if AIRFLOW_V_3_PLUS:
        return dag.test(logical_date=LOGICAL_DATE)
    return dag.test(execution_date=LOGICAL_DATE)


def task_states(dr: Any) -> dict[str, str | None]:
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        tis = session.scalars(
            select(TaskInstance).where(TaskInstance.dag_id == dr.dag_id, TaskInstance.run_id == dr.run_id)
        ).all()
        return {ti.task_id: (str(getattr(ti.state, "value", ti.state)) if ti.state else None) for ti in tis}


def test_the_group_is_load_start_spark_end_in_one_call(dags: ModuleType) -> None:
    dag = dags.task_group_dag
    assert [t.task_id for t in dag.topological_sort()] == [
        "tg_sales.load_config",
        "tg_sales.start_run",
        "tg_sales.run_spark_job",
        "tg_sales.end_run",
    ]
    spark = dag.get_task("tg_sales.run_spark_job")
    assert type(spark).__name__ == "SparkSubmitOperator"
    assert (getattr(spark, "conn_id", None) or spark._conn_id) == dags.SPARK_CONN_ID
    assert dag.get_task("tg_sales.end_run").trigger_rule == "all_done"
    assert not dag.render_template_as_native_obj  # the group needs no native rendering


@pytest.mark.spark
def test_templated_arguments_reach_the_job_rendered_and_the_run_records_them_masked(
    dags: ModuleType, registry: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "received.json"
    registry.pipelines_write.create(
        {
            "pipeline_id": dags.PIPELINE_ID,
            "name": "Task group sales",
            "owner": "data-eng",
            "schedule": "@daily",
            "spark_application": str(JOB),
            "spark_conf": {
                "spark.pipeline.test.output": str(output),
                "spark.ui.enabled": "false",
                "spark.pipeline.day": "{{ ds }}",
                "spark.hadoop.fs.s3a.secret.key": CONF_SECRET,
            },
            "spark_args": [
                "--day",
                "{{ ds }}",
                "--from={{ data_interval_start.isoformat() }}",
                "--region",
                "{{ params.region }}",
                "--db-password",
                ARG_PASSWORD,
                "--literal",
                "plain",
            ],
            "parameters": {"day": "{{ ds_nodash }}", "limit": 5, "nested": {"api_token": PARAM_TOKEN}},
        }
    )
    dr = run_dag(dags.task_group_dag)
    states = task_states(dr)
    assert str(dr.state) == "success", (states, capsys.readouterr().out[-6000:])
    assert states == {
        "tg_sales.load_config": "success",
        "tg_sales.start_run": "success",
        "tg_sales.run_spark_job": "success",
        "tg_sales.end_run": "success",
    }

    # the job got the rendered values, and the real secrets
    received = json.loads(output.read_text())
    day = "2026-03-08"  # ds and data_interval_start of a run with this logical date, on both tiers
    assert received["args"][:2] == ["--day", day]
    start = dr.data_interval_start.isoformat()  # the dag run's own (a @daily interval: the day before)
    assert received["args"][2] == f"--from={start}"
    assert received["args"][3:] == ["--region", "emea", "--db-password", ARG_PASSWORD, "--literal", "plain"]
    assert received["conf"]["spark.pipeline.day"] == day
    assert received["conf"]["spark.hadoop.fs.s3a.secret.key"] == CONF_SECRET
    assert received["parameters"] == {"day": day.replace("-", ""), "limit": 5, "nested": {"api_token": PARAM_TOKEN}}

    # the driver joined the attempt the start task opened; the run records the rendered values, masked
    run_id = derive_run_id(dr.dag_id, dr.run_id, "tg_sales")
    assert received["run_id"] == run_id
    run = registry.runs.find_entity(run_id, dags.PIPELINE_ID, consistent=True)
    assert run is not None
    assert run.status.value == "SUCCESS"
    assert run.task_id == "tg_sales.run_spark_job"
    assert run.metrics == {"rows": 1}
    assert run.arguments["spark_args"] == [
        "--day",
        day,
        f"--from={start}",
        "--region",
        "emea",
        "--db-password",
        "***",
        "--literal",
        "plain",
    ]
    assert run.arguments["spark_conf"]["spark.pipeline.day"] == day
    assert run.arguments["spark_conf"]["spark.hadoop.fs.s3a.secret.key"] == "***"
    assert run.arguments["parameters"] == {"day": day.replace("-", ""), "limit": 5, "nested": {"api_token": "***"}}
    stored = json.dumps(
        registry.runs.gateway.get_item({"run_id": {"S": run_id}, "pipeline_id": {"S": dags.PIPELINE_ID}})
    )
    for secret in (ARG_PASSWORD, CONF_SECRET, PARAM_TOKEN):
        assert secret not in stored


def test_a_custom_spark_task_factory_replaces_spark_submit(
    dags: ModuleType, registry: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    registry.pipelines_write.create(
        {
            "pipeline_id": dags.CUSTOM_PIPELINE_ID,
            "name": "Custom launcher",
            "spark_application": "s3://jobs/custom.py",
            "spark_conf": {"spark.day": "{{ ds }}"},
            "spark_args": ["{{ dag.dag_id }}"],
        }
    )
    dr = run_dag(dags.custom_dag)
    states = task_states(dr)
    assert str(dr.state) == "success", (states, capsys.readouterr().out[-6000:])
    assert set(states) == {"custom.load_config", "custom.start_run", "custom.run_spark_job", "custom.end_run"}
    from airflow_versions import xcom_rows

    launched = next(v for _, k, v in xcom_rows(dr, "custom.run_spark_job") if k == "return_value")
    assert launched["application"] == "s3://jobs/custom.py"
    assert launched["application_args"] == ["pr_task_group_custom"]
    assert launched["conf"]["spark.day"] == "2026-03-08"
    assert {"PIPELINE_REGISTRY_RUN_ID", "PIPELINE_REGISTRY_ATTEMPT_ID", "PIPELINE_REGISTRY_PARAMETERS"} <= set(
        launched["env"]
    )
    run = registry.runs.find_entity(
        derive_run_id(dr.dag_id, dr.run_id, "custom"), dags.CUSTOM_PIPELINE_ID, consistent=True
    )
    assert run is not None
    assert run.status.value == "SUCCESS"
    assert run.arguments["spark_args"] == ["pr_task_group_custom"]

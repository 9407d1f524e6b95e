"""Scenario DAGs of the real-deployment tier (tests/deployment), parsed by a real dag-processor.

Each pipeline DAG is the shape of ``example_spark_pipeline``: load_config -> start_run ->
run_spark_job (SparkSubmitOperator running ``jobs/scenario_job.py`` in the mode its pipeline's
``spark_args`` give) -> end_run (``all_done``). The pipelines themselves are seeded by the test
fixture. Connections: ``aws_default`` and ``spark_local``, as in the README's deployment block.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG

from airflow_provider_pipeline_registry.callbacks import record_run_failure
from airflow_provider_pipeline_registry.operators.pipeline_registry import (
    EndPipelineRunOperator,
    LoadPipelineConfigOperator,
    StartPipelineRunOperator,
)
from airflow_provider_pipeline_registry.sensors.pipeline_registry import PipelineRunStateSensor

XCOM = "{{{{ ti.xcom_pull(task_ids='load_config', key='{key}') }}}}"
START = pendulum.datetime(2026, 1, 1, tz="UTC")

#: dag id -> (pipeline id, retries of the Spark task)
PIPELINE_DAGS = {
    "deploy_raises": ("deploy_raises", 0),
    "deploy_mark_task_failed": ("deploy_wait_task", 0),
    "deploy_mark_run_failed": ("deploy_wait_run", 0),
    "deploy_retry": ("deploy_retry", 1),
}


def pipeline_dag(dag_id: str, pipeline_id: str, retries: int) -> DAG:
    with DAG(
        dag_id=dag_id,
        schedule=None,
        start_date=START,
        catchup=False,
        render_template_as_native_obj=True,
        tags=["pipeline-registry", "deployment-test"],
    ) as dag:
        load_config = LoadPipelineConfigOperator(task_id="load_config", pipeline_id=pipeline_id, heartbeat_seconds=2)
        start_run = StartPipelineRunOperator(task_id="start_run", pipeline_id=pipeline_id)
        run_spark_job = SparkSubmitOperator(
            task_id="run_spark_job",
            conn_id="spark_local",
            application=XCOM.format(key="application"),
            conf=XCOM.format(key="spark_conf"),
            application_args=XCOM.format(key="application_args"),
            env_vars=XCOM.format(key="run_logger_env"),
            name=pipeline_id,
            retries=retries,
            retry_delay=timedelta(seconds=1),
            on_failure_callback=record_run_failure(pipeline_id=pipeline_id),
        )
        end_run = EndPipelineRunOperator(task_id="end_run", pipeline_id=pipeline_id, trigger_rule="all_done")
        load_config >> start_run >> run_spark_job >> end_run
    return dag


for _dag_id, (_pipeline_id, _retries) in PIPELINE_DAGS.items():
    globals()[_dag_id] = pipeline_dag(_dag_id, _pipeline_id, _retries)


with DAG(
    dag_id="deploy_raises_downstream",
    schedule=None,
    start_date=START,
    catchup=False,
    tags=["pipeline-registry", "deployment-test"],
) as deploy_raises_downstream:
    PipelineRunStateSensor(
        task_id="wait_for_deploy_raises",
        pipeline_id="deploy_raises",
        since="{{ (dag_run.run_after - macros.timedelta(hours=24)).isoformat() }}",
        deferrable=True,
        poke_interval=2,
        timeout=timedelta(hours=2),
    )


with DAG(
    dag_id="deploy_paused_target",
    schedule=None,
    start_date=START,
    catchup=False,
    is_paused_upon_creation=True,
    tags=["deployment-test"],
) as deploy_paused_target:
    # paused: the dag runs the REST tests trigger stay queued, and cost the scheduler nothing
    EmptyOperator(task_id="never_runs")

"""DAG for tests/airflow/test_missing_connection.py: every registry task names a connection that
does not exist (``pr_not_defined``). Keep this file light: every dag.test() parses the dags folder.
"""

from __future__ import annotations

import pendulum
from airflow.providers.common.compat.sdk import DAG

from airflow_provider_pipeline_registry.callbacks import record_run_failure
from airflow_provider_pipeline_registry.operators.pipeline_registry import LoadPipelineConfigOperator
from airflow_provider_pipeline_registry.sensors.pipeline_registry import PipelineRunStateSensor

MISSING_CONN_ID = "pr_not_defined"
PIPELINE_ID = "orders_daily"

with DAG(
    dag_id="pr_missing_conn",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
) as missing_conn_dag:
    LoadPipelineConfigOperator(
        task_id="load",
        pipeline_id=PIPELINE_ID,
        aws_conn_id=MISSING_CONN_ID,
        on_failure_callback=record_run_failure(pipeline_id=PIPELINE_ID, aws_conn_id=MISSING_CONN_ID, run_id="r-1"),
    )
    PipelineRunStateSensor(
        task_id="wait",
        pipeline_id=PIPELINE_ID,
        run_id="r-1",
        aws_conn_id=MISSING_CONN_ID,
        poke_interval=1,
        timeout=20,
        mode="poke",
    )

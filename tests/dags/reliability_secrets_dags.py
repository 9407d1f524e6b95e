"""DAG for tests/reliability/test_secrets.py: registry tasks that fail while the connection holds
distinctive credentials (none may leak into logs, XCom, rendered fields or exception text).

``pr_secrets`` points at DynamoDB Local; ``pr_secrets_down`` at a closed port. The test defines
both as ``AIRFLOW_CONN_*`` variables.
"""

from __future__ import annotations

import pendulum
from airflow.providers.common.compat.sdk import DAG

from airflow_provider_pipeline_registry.callbacks import record_run_failure, record_run_success
from airflow_provider_pipeline_registry.operators.pipeline_registry import (
    EndPipelineRunOperator,
    LoadPipelineConfigOperator,
    StartPipelineRunOperator,
)

CONN_ID = "pr_secrets"
DOWN_CONN_ID = "pr_secrets_down"
PIPELINE_ID = "secrets_pipeline"
MISSING_PIPELINE_ID = "secrets_nowhere"

with DAG(
    "pr_secrets_errors",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    default_args={"retries": 0},
) as secrets_dag:
    # succeeds: its XComs (config, run_logger_env) must carry no credentials either
    load_ok = LoadPipelineConfigOperator(task_id="load_ok", pipeline_id=PIPELINE_ID, aws_conn_id=CONN_ID)
    start_ok = StartPipelineRunOperator(
        task_id="start_ok",
        pipeline_id="{{ ti.xcom_pull(task_ids='load_ok')['pipeline']['pipeline_id'] }}",
        aws_conn_id=CONN_ID,
        on_success_callback=record_run_success(pipeline_id=PIPELINE_ID, aws_conn_id=DOWN_CONN_ID),
    )
    load_ok >> start_ok
    # fails: the pipeline does not exist; its failure callback finds no run to end
    LoadPipelineConfigOperator(
        task_id="load_missing",
        pipeline_id="{{ params.missing }}",
        params={"missing": MISSING_PIPELINE_ID},
        aws_conn_id=CONN_ID,
        on_failure_callback=record_run_failure(pipeline_id=MISSING_PIPELINE_ID, aws_conn_id=CONN_ID),
    )
    # fails: the endpoint refuses connections; so does its failure callback
    StartPipelineRunOperator(
        task_id="start_down",
        pipeline_id=PIPELINE_ID,
        aws_conn_id=DOWN_CONN_ID,
        on_failure_callback=record_run_failure(pipeline_id=PIPELINE_ID, aws_conn_id=DOWN_CONN_ID),
    )
    # fails: ending a run that was never started
    EndPipelineRunOperator(
        task_id="end_unknown", pipeline_id=PIPELINE_ID, run_id="never-started", status="SUCCESS", aws_conn_id=CONN_ID
    )

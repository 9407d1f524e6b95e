"""Example 1: a registry-driven PySpark pipeline.

load_config -> start_run -> run_spark_job (SparkSubmitOperator, local[*]) -> end_run

* ``LoadPipelineConfigOperator`` reads ``sales_daily`` and its active tables from DynamoDB and
  pushes what the Spark task needs to XCom (application, Spark conf, arguments, and the
  environment for the run logger).
  Secrets in the config (values under sensitive names, URL userinfo, ``password=``) are pushed
  masked (``***``); ``resolve_pipeline_secrets`` gives the Spark task the real values.
* ``StartPipelineRunOperator`` records the run as RUNNING with the Airflow identity.
* The Spark job (``jobs/sales_by_region.py``) records its own metrics with ``PipelineRunLogger``.
* ``EndPipelineRunOperator`` (``trigger_rule="all_done"``) records SUCCESS or FAILED from the
  states of the tasks it watches; a failure callback records the error of a failed task. On
  SUCCESS it emits an asset event per active target table (``example_asset_consumer`` runs on it).

The DAG renders templates as native objects, so the XCom dicts reach SparkSubmitOperator as dicts
(``spark_env_template()`` renders to the run logger's environment plus the Spark task's identity).
Connections: ``aws_default`` (an ``aws`` connection; registry settings in its extras) and
``spark_local`` (``{"conn_type": "spark", "host": "local[*]"}``).
"""

from __future__ import annotations

import pendulum
from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator
from airflow.providers.common.compat.sdk import DAG

from airflow_provider_pipeline_registry.callbacks import record_run_failure, resolve_pipeline_secrets
from airflow_provider_pipeline_registry.operators.pipeline_registry import (
    EndPipelineRunOperator,
    LoadPipelineConfigOperator,
    StartPipelineRunOperator,
)
from airflow_provider_pipeline_registry.run_context import spark_env_template

PIPELINE_ID = "sales_daily"
XCOM = "{{{{ ti.xcom_pull(task_ids='load_config', key='{key}') }}}}"

with DAG(
    dag_id="example_spark_pipeline",
    description="Registry-driven PySpark pipeline (pipeline-registry provider example)",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    render_template_as_native_obj=True,
    tags=["pipeline-registry", "example"],
) as dag:
    load_config = LoadPipelineConfigOperator(task_id="load_config", pipeline_id=PIPELINE_ID)
    start_run = StartPipelineRunOperator(task_id="start_run", pipeline_id=PIPELINE_ID)
    run_spark_job = SparkSubmitOperator(
        task_id="run_spark_job",
        conn_id="spark_local",
        application=XCOM.format(key="application"),
        conf=XCOM.format(key="spark_conf"),
        application_args=XCOM.format(key="application_args"),
        # the run logger's settings plus this task's own try, task id and the attempt start_run opened:
        # they reach the driver in every deploy mode, so a retry of this task alone is its own attempt
        env_vars=spark_env_template(load_task_id="load_config", start_task_id="start_run"),
        name="sales_by_region",
        # XCom holds the config with its secrets masked (***): this task puts the real values back
        pre_execute=resolve_pipeline_secrets(pipeline_id=PIPELINE_ID),
        on_failure_callback=record_run_failure(pipeline_id=PIPELINE_ID),
    )
    end_run = EndPipelineRunOperator(task_id="end_run", pipeline_id=PIPELINE_ID, trigger_rule="all_done")

    load_config >> start_run >> run_spark_job >> end_run

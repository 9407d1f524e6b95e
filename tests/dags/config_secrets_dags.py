"""DAG for tests/reliability/test_config_secrets.py: a pipeline whose config carries secrets is
loaded and run by a real ``SparkSubmitOperator`` (local master). XCom holds the config masked;
``resolve_pipeline_secrets`` gives the Spark task the real values, in its own process.

The test defines ``AIRFLOW_CONN_PR_CONFIG_SECRETS`` (DynamoDB Local) and
``AIRFLOW_CONN_PR_CONFIG_SECRETS_SPARK`` (``local[1]``).
"""

from __future__ import annotations

import pendulum
from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator
from airflow.providers.common.compat.sdk import DAG

from airflow_provider_pipeline_registry.callbacks import resolve_pipeline_secrets
from airflow_provider_pipeline_registry.operators.pipeline_registry import LoadPipelineConfigOperator

CONN_ID = "pr_config_secrets"
SPARK_CONN_ID = "pr_config_secrets_spark"
PIPELINE_ID = "config_secrets"
XCOM = "{{{{ ti.xcom_pull(task_ids='load_config', key='{key}') }}}}"

with DAG(
    "pr_config_secrets",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    render_template_as_native_obj=True,
    default_args={"retries": 0},
) as config_secrets_dag:
    load = LoadPipelineConfigOperator(task_id="load_config", pipeline_id=PIPELINE_ID, aws_conn_id=CONN_ID)
    spark_job = SparkSubmitOperator(
        task_id="spark_job",
        conn_id=SPARK_CONN_ID,
        application=XCOM.format(key="application"),
        conf=XCOM.format(key="spark_conf"),
        application_args=XCOM.format(key="application_args"),
        name="config_secrets",
        pre_execute=resolve_pipeline_secrets(pipeline_id=PIPELINE_ID, aws_conn_id=CONN_ID),
    )
    load >> spark_job

"""DAGs for tests/airflow/test_registry_links.py: the operators' extra links under dag.test().

``pr_links``: ``load -> start -> spark (records a Spark application and UI address on the run) ->
end -> sensor`` (waits for the ended run, found as the latest run of the pipeline).

``pr_links_failed``: ``start -> spark -> end`` where the end records FAILED (so the end task fails
after it persisted its links), beside ``load_missing``, which fails before it knows a run (a
pipeline that is not in the registry), so it persists nothing.

Both on the connection ``pr_links`` (pointed at DynamoDB Local by the test). Airflow 3 and 2.11.
"""

from __future__ import annotations

from typing import Any

import pendulum
from airflow.providers.common.compat.sdk import DAG, BaseOperator

from airflow_provider_pipeline_registry.operators.pipeline_registry import (
    EndPipelineRunOperator,
    LoadPipelineConfigOperator,
    StartPipelineRunOperator,
)
from airflow_provider_pipeline_registry.sensors.pipeline_registry import PipelineRunStateSensor

CONN_ID = "pr_links"
PIPELINE_ID = "links_daily"
MISSING_PIPELINE_ID = "links_not_in_the_registry"
SPARK_UI_URL = "http://spark-driver.example:4040/"
registry = {"pipeline_id": PIPELINE_ID, "aws_conn_id": CONN_ID}
START = pendulum.datetime(2026, 1, 1, tz="UTC")


class SparkStandIn(BaseOperator):
    """Records the Spark identity on the RUNNING run, as PipelineRunLogger does in a Spark driver."""

    def execute(self, context: Any) -> None:
        from airflow_provider_pipeline_registry.hooks.pipeline_registry import PipelineRegistryHook

        run_id = context["ti"].xcom_pull(task_ids="start")
        spark = {"spark_application_id": "local-1700000000000", "spark_ui_url": SPARK_UI_URL}
        PipelineRegistryHook(aws_conn_id=CONN_ID).runs_write.heartbeat(run_id, PIPELINE_ID, spark=spark)


with DAG(dag_id="pr_links", schedule=None, start_date=START, catchup=False) as dag:
    (
        LoadPipelineConfigOperator(task_id="load", **registry)
        >> StartPipelineRunOperator(task_id="start", **registry)
        >> SparkStandIn(task_id="spark")
        >> EndPipelineRunOperator(task_id="end", **registry)
        >> PipelineRunStateSensor(task_id="sensor", poke_interval=0.2, timeout=30, **registry)
    )

with DAG(dag_id="pr_links_failed", schedule=None, start_date=START, catchup=False) as failed_dag:
    (
        StartPipelineRunOperator(task_id="start", **registry)
        >> SparkStandIn(task_id="spark")
        >> EndPipelineRunOperator(task_id="end", status="FAILED", error_message="boom", **registry)
    )
    LoadPipelineConfigOperator(task_id="load_missing", pipeline_id=MISSING_PIPELINE_ID, aws_conn_id=CONN_ID)

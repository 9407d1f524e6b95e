"""A DAG whose Spark work runs in ``@task.pyspark`` and records itself with PipelineRunLogger."""

from __future__ import annotations

from typing import Any

import pendulum
from airflow.providers.common.compat.sdk import DAG, task

from airflow_provider_pipeline_registry.operators.pipeline_registry import (
    EndPipelineRunOperator,
    LoadPipelineConfigOperator,
    StartPipelineRunOperator,
)

CONN_ID = "pr_pyspark"
PIPELINE_ID = "pyspark_pipeline"

with DAG(
    dag_id="registry_pyspark_task",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
) as pyspark_dag:
    load = LoadPipelineConfigOperator(task_id="load_config", pipeline_id=PIPELINE_ID, aws_conn_id=CONN_ID)
    start = StartPipelineRunOperator(task_id="start_run", pipeline_id=PIPELINE_ID, aws_conn_id=CONN_ID)

    @task.pyspark(config_kwargs={"spark.ui.enabled": "false", "spark.sql.shuffle.partitions": "2"})
    def transform(run_logger_env: dict[str, str], spark: Any = None, sc: Any = None) -> int:
        from airflow_provider_pipeline_registry.registry.run_logger import PipelineRunLogger

        with PipelineRunLogger.from_env(run_logger_env, spark=spark, heartbeat_interval=0.5) as run:
            numbers = spark.range(1000)
            run.records_read(numbers.count())
            written = numbers.where("id % 2 = 0").count()
            run.records_written(written)
        return int(written)

    end = EndPipelineRunOperator(task_id="end_run", pipeline_id=PIPELINE_ID, aws_conn_id=CONN_ID)
    load >> start >> transform(load.output["run_logger_env"]) >> end

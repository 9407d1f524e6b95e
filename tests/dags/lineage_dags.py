"""DAGs for tests/airflow/test_assets_dag.py and test_openlineage_dag.py (asset events and lineage).

Connection ``pr_lineage`` (the tests point ``AIRFLOW_CONN_PR_LINEAGE`` at DynamoDB Local with a
per-test table prefix); pipeline ``lineage_daily`` (its tables are seeded by the tests, see
``TABLES``). The consumer DAG is scheduled on the asset of the pipeline's partitioned target table.
"""

from __future__ import annotations

from typing import Any

import pendulum
from airflow.sdk import DAG, Asset, BaseOperator, task

from airflow_provider_pipeline_registry.callbacks import record_run_success
from airflow_provider_pipeline_registry.operators.pipeline_registry import (
    EndPipelineRunOperator,
    LoadPipelineConfigOperator,
    StartPipelineRunOperator,
)

CONN_ID = "pr_lineage"
PIPELINE_ID = "lineage_daily"
START = pendulum.datetime(2026, 1, 1, tz="UTC")
#: the tables the tests seed for PIPELINE_ID
TABLES: list[dict[str, Any]] = [
    # credentials in a location (Hadoop s3a style, an unencoded "/" in the secret): never in a lineage name
    {
        "table_id": "lineage.raw_orders",
        "role": "source",
        "location": "s3a://AKIAIOSFODNN7EXAMPLE:wJalrXUtnFEMI/K7MDENG+bPxRfiCY@lake/raw/orders/",
    },
    {"table_id": "lineage.customers", "role": "source"},
    {
        "table_id": "lineage.orders_by_day",
        "role": "target",
        "location": "s3://lake/curated/orders_by_day",
        "partition_columns": ["day", "region"],
    },
    {"table_id": "lineage.orders_index", "role": "target"},
    {"table_id": "lineage.retired", "role": "target", "location": "file:///srv/retired", "is_active": False},
]
CONSUMED_URI = "s3://lake/curated/orders_by_day"
#: what the Spark stand-in records as the run's metrics
METRICS = {
    "records_read": 100,
    "records_written": 42,
    "records_written.lineage.orders_by_day": 35,
    "records_written.lineage.orders_index": 7,
}

registry = {"pipeline_id": PIPELINE_ID, "aws_conn_id": CONN_ID}


class Boom(BaseOperator):
    """Fails with a recognisable exception."""

    def execute(self, context: Any) -> None:
        raise ValueError(f"boom in {self.task_id}")


@task
def spark_stand_in(pipeline_run_id: str) -> None:
    """Records the run's metrics as the Spark job's run logger would (a heartbeat with metrics)."""
    from airflow_provider_pipeline_registry.hooks.pipeline_registry import PipelineRegistryHook

    hook = PipelineRegistryHook(aws_conn_id=CONN_ID)
    hook.registry.runs_write.heartbeat(pipeline_run_id, PIPELINE_ID, metrics=METRICS)


# -- the producer: load -> start -> spark stand-in -> end (SUCCESS emits the asset events) ---------
with DAG(dag_id="pr_lineage_success", schedule=None, start_date=START, catchup=False) as success_dag:
    load = LoadPipelineConfigOperator(task_id="load", **registry)
    start = StartPipelineRunOperator(task_id="start", **registry)
    end = EndPipelineRunOperator(task_id="end", **registry)
    load >> start >> spark_stand_in(start.output) >> end

# -- a failed run: nothing emitted (the end task stays green, the run is FAILED) ------------------
with DAG(dag_id="pr_lineage_failure", schedule=None, start_date=START, catchup=False) as failure_dag:
    (
        StartPipelineRunOperator(task_id="start", **registry)
        >> Boom(task_id="boom")
        >> EndPipelineRunOperator(task_id="end", fail_on_pipeline_failure=False, **registry)
    )

# -- a failed run whose end task fails (OpenLineage failure facets of the end operator) -----------
with DAG(dag_id="pr_lineage_end_fails", schedule=None, start_date=START, catchup=False) as end_fails_dag:
    (
        StartPipelineRunOperator(task_id="start", **registry)
        >> Boom(task_id="boom")
        >> EndPipelineRunOperator(task_id="end", **registry)
    )

# -- a cancelled run: nothing emitted ---------------------------------------------------------------
with DAG(dag_id="pr_lineage_cancelled", schedule=None, start_date=START, catchup=False) as cancelled_dag:
    (
        StartPipelineRunOperator(task_id="start", **registry)
        >> EndPipelineRunOperator(task_id="end", status="CANCELLED", error_message="stopped by hand", **registry)
    )

# -- a run ended SUCCESS by a success callback only: a callback cannot emit asset events ---------
with DAG(dag_id="pr_lineage_callback_only", schedule=None, start_date=START, catchup=False) as callback_dag:
    StartPipelineRunOperator(task_id="start", on_success_callback=record_run_success(**registry), **registry)

# -- the consumer: scheduled on the target table's asset, no sensor --------------------------------
with DAG(dag_id="pr_lineage_consumer", schedule=[Asset(CONSUMED_URI)], start_date=START, catchup=False) as consumer:

    @task
    def consume() -> None:
        """Nothing: the tests check that this DAG was queued by the asset event."""

    consume()

"""Asset scenario of the real-deployment tier (tests/deployment/test_assets_deployment.py).

``deploy_assets_producer`` ends a run of pipeline ``deploy_assets`` SUCCESS (or FAILED when the
dag run's conf says ``{"fail": true}``) with the registry operators; the end operator emits an
asset event per active target table. ``deploy_assets_consumer`` is scheduled on the asset of the
target table, so the scheduler starts it after a successful producer run only. No Spark: the
stand-in task records the run's metrics the way the Spark job's run logger would.
"""

from __future__ import annotations

from typing import Any

import pendulum
from airflow.sdk import DAG, Asset, task

from airflow_provider_pipeline_registry.operators.pipeline_registry import (
    EndPipelineRunOperator,
    StartPipelineRunOperator,
)

PIPELINE_ID = "deploy_assets"
TARGET_URI = "s3://deploy-lake/curated/assets_out"
TABLES: list[dict[str, Any]] = [
    {"table_id": "deploy_assets.in", "role": "source", "location": "s3://deploy-lake/raw/assets_in"},
    {"table_id": "deploy_assets.out", "role": "target", "location": TARGET_URI + "/", "partition_columns": ["day"]},
]
METRICS = {"records_written": 11}
START = pendulum.datetime(2026, 1, 1, tz="UTC")

with DAG(dag_id="deploy_assets_producer", schedule=None, start_date=START, catchup=False) as producer:
    start = StartPipelineRunOperator(task_id="start", pipeline_id=PIPELINE_ID)

    @task
    def spark_stand_in(pipeline_run_id: str, dag_run: Any = None) -> None:
        """Records the metrics, then fails when the dag run's conf asks for it."""
        from airflow_provider_pipeline_registry.hooks.pipeline_registry import PipelineRegistryHook

        PipelineRegistryHook().registry.runs_write.heartbeat(pipeline_run_id, PIPELINE_ID, metrics=METRICS)
        if (dag_run.conf or {}).get("fail"):
            raise RuntimeError("the producer's job failed (asked by the test)")

    end = EndPipelineRunOperator(task_id="end", pipeline_id=PIPELINE_ID, fail_on_pipeline_failure=False)
    start >> spark_stand_in(start.output) >> end

with DAG(dag_id="deploy_assets_consumer", schedule=[Asset(TARGET_URI)], start_date=START, catchup=False) as consumer:

    @task
    def consume(triggering_asset_events: Any = None) -> list[dict[str, Any]]:
        """The extras of the events that started this run (checked by the test through XCom)."""
        return [dict(e.extra) for events in (triggering_asset_events or {}).values() for e in events]

    consume()

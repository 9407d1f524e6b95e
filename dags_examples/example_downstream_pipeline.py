"""Example 2: a downstream DAG that waits for ``sales_daily`` with a deferrable sensor.

``PipelineRunStateSensor`` finds the newest run of ``sales_daily`` started in the 24 hours
before this DAG run (through the pipeline's index), then polls that run on the base table with
one strongly consistent read per interval, from the triggerer (no worker slot is held). It fails
at once if the run FAILED or was CANCELLED, or if its heartbeat went stale; on success it returns
the run's final view, which the report task summarises.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum
from airflow.providers.common.compat.sdk import DAG, task

from airflow_provider_pipeline_registry.sensors.pipeline_registry import PipelineRunStateSensor

with DAG(
    dag_id="example_downstream_pipeline",
    description="Waits for the latest sales_daily run (pipeline-registry provider example)",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["pipeline-registry", "example"],
) as dag:
    wait_for_sales = PipelineRunStateSensor(
        task_id="wait_for_sales_daily",
        pipeline_id="sales_daily",
        since="{{ (dag_run.start_date - macros.timedelta(hours=24)).isoformat() }}",
        stale_after=timedelta(minutes=30),
        deferrable=True,
        poke_interval=5,
        timeout=timedelta(hours=2),
    )

    @task
    def report(run: dict[str, Any]) -> str:
        """Summarise the upstream run (its final view, as the sensor returned it)."""
        summary = (
            f"sales_daily run {run['run_id']} ended {run['status']} after {run.get('duration_seconds')} s; "
            f"metrics: {run.get('metrics')}"
        )
        print(summary)
        return summary

    report(wait_for_sales.output)

"""Example 3: a DAG scheduled on the asset of a table that ``sales_daily`` writes (no sensor).

``example_spark_pipeline`` (the producer) ends with ``EndPipelineRunOperator``, which declares the
asset alias ``pipeline-registry:sales_daily`` and, when the run ends SUCCESS, emits one asset event
per active target table of the pipeline. This DAG is scheduled on the asset of the target table
``sales_daily.sales_by_region``, so the scheduler starts it after each successful run; a FAILED or
CANCELLED run emits nothing and starts nothing.

The asset is built at parse time from the seed file, without reading DynamoDB
(``pipeline_assets_from_file``); the seed's ``{data_dir}`` is ``$PIPELINE_REGISTRY_EXAMPLE_DATA_DIR``
(the demo sets it). With a fixed location you would write ``schedule=[Asset("s3://lake/curated/sales_by_region")]``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pendulum
from airflow.providers.common.compat.sdk import DAG, task

from airflow_provider_pipeline_registry.assets import pipeline_assets_from_file

SEED = Path(__file__).resolve().parent / "seed" / "pipelines.yaml"
DATA_DIR = os.environ.get("PIPELINE_REGISTRY_EXAMPLE_DATA_DIR", "/tmp/pipeline-registry-example/data")
SALES_BY_REGION = pipeline_assets_from_file(SEED, "sales_daily", placeholders={"data_dir": DATA_DIR})

with DAG(
    dag_id="example_asset_consumer",
    description="Runs after each successful sales_daily run (pipeline-registry provider example)",
    schedule=SALES_BY_REGION,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["pipeline-registry", "example", "assets"],
) as dag:

    @task(inlets=SALES_BY_REGION)
    def report_new_data(inlet_events: Any = None) -> dict[str, Any]:
        """The figures of the newest event of the table's asset (the run that produced the data)."""
        extra = dict(inlet_events[SALES_BY_REGION[0]][-1].extra)
        print(
            f"new data in {SALES_BY_REGION[0].uri}: run {extra['run_id']} (try {extra['try_number']}) "
            f"ended {extra['end_time']}, records_written={extra['records_written']}"
        )
        return extra

    report_new_data()

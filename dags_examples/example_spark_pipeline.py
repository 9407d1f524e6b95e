"""Example 1: a registry-driven PySpark pipeline, as one task group.

``PipelineRunTaskGroup("sales_daily")`` builds, in the task group ``sales_daily``:

load_config -> start_run -> run_spark_job (SparkSubmitOperator, local[*]) -> end_run

* ``load_config`` reads ``sales_daily`` and its active tables from DynamoDB and pushes what the
  Spark task needs to XCom (application, Spark conf, arguments, the run logger's environment),
  secrets masked (``***``).
* ``start_run`` records the run as RUNNING with the Airflow identity (a new attempt).
* ``run_spark_job`` gets the registry's application, conf and arguments, the real values of the
  masked secrets (in its own process), its arguments rendered with its Airflow context
  (``{{ ds }}`` in ``spark_args`` reaches the job as the date; the run records the rendered
  value), and its driver the run logger's environment plus the task's own identity. The job
  (``jobs/sales_by_region.py``) records its metrics with ``PipelineRunLogger``; a failure
  callback records the error of a failed Spark task.
* ``end_run`` (``trigger_rule="all_done"``) records SUCCESS or FAILED from the tasks before it;
  on SUCCESS it emits an asset event per active target table (``example_asset_consumer`` runs
  on it).

Connections: ``aws_default`` (an ``aws`` connection; registry settings in its extras) and
``spark_local`` (``{"conn_type": "spark", "host": "local[*]"}``). Compare
``example_generated_dags.py``, which makes such a DAG for every active pipeline of the registry.
"""

from __future__ import annotations

# --8<-- [start:dag]
import pendulum
from airflow.providers.common.compat.sdk import DAG

from airflow_provider_pipeline_registry.dags import PipelineRunTaskGroup

with DAG(
    dag_id="example_spark_pipeline",
    description="Registry-driven PySpark pipeline (pipeline-registry provider example)",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["pipeline-registry", "example"],
) as dag:
    PipelineRunTaskGroup("sales_daily", spark_conn_id="spark_local")
# --8<-- [end:dag]

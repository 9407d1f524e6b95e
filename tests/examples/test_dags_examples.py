"""The example DAGs: they parse, and the demo runs both end to end (real Airflow, real Spark)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from airflow_provider_pipeline_registry.compat import AIRFLOW_V_3_PLUS
from airflow_provider_pipeline_registry.registry import DynamoDBConfig, Registry, RunStatus

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "dags_examples"


def _dagbag() -> object:
    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # pragma: no cover - older Airflow
        from airflow.models.dagbag import DagBag
    return DagBag(dag_folder=str(EXAMPLES))


@pytest.mark.airflow
def test_every_example_dag_file_loads_without_import_errors() -> None:
    bag = _dagbag()
    assert bag.import_errors == {}  # type: ignore[attr-defined]
    dags = bag.dags  # type: ignore[attr-defined]
    assert set(dags) == {"example_spark_pipeline", "example_downstream_pipeline", "example_asset_consumer"}
    spark = dags["example_spark_pipeline"]
    assert [t.task_id for t in spark.topological_sort()] == ["load_config", "start_run", "run_spark_job", "end_run"]
    assert spark.get_task("end_run").trigger_rule == "all_done"
    sensor = dags["example_downstream_pipeline"].get_task("wait_for_sales_daily")
    assert sensor.deferrable is True
    # the asset pair (Airflow 3): the producer's end operator emits through the pipeline's alias,
    # the consumer is scheduled on the asset of sales_daily's target table
    if AIRFLOW_V_3_PLUS:
        assert [a.name for a in spark.get_task("end_run").outlets] == ["pipeline-registry:sales_daily"]
        consumer = dags["example_asset_consumer"]
        assert [a.uri for a in consumer.timetable.asset_condition.objects] == [
            "file:///tmp/pipeline-registry-example/data/curated/sales_by_region"
        ]
    else:  # Airflow 2 loads the consumer (a dataset schedule) but the registry emits no events there
        assert spark.get_task("end_run").outlets == []


def test_every_python_file_in_dags_examples_is_a_dag_or_a_job() -> None:
    files = {p.relative_to(EXAMPLES).as_posix() for p in EXAMPLES.rglob("*.py")}
    assert files == {
        "example_spark_pipeline.py",
        "example_downstream_pipeline.py",
        "example_asset_consumer.py",
        "jobs/sales_by_region.py",
    }


@pytest.mark.airflow
@pytest.mark.spark
@pytest.mark.integration
def test_demo_runs_both_dags_end_to_end(dynamodb_endpoint: str, unique_prefix: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update(DYNAMODB_ENDPOINT_URL=dynamodb_endpoint, DYNAMODB_USER_TIMEZONE="America/New_York")
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "demo.py"), "--table-prefix", unique_prefix],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    assert "example_spark_pipeline: success" in output
    assert "example_downstream_pipeline: success" in output
    if AIRFLOW_V_3_PLUS:  # the asset consumer runs on the producer's event
        assert "example_asset_consumer: success" in output
        assert "/curated/sales_by_region: run example_spark_pipeline/" in output
        assert "records_written=4" in output
    assert "demo OK: both DAGs succeeded" in output

    registry = Registry(DynamoDBConfig(endpoint_url=dynamodb_endpoint, table_prefix=unique_prefix))
    runs = list(registry.runs.iter_by_pipeline("sales_daily", tz="UTC"))
    assert len(runs) == 1
    run = runs[0]
    assert run.status is RunStatus.SUCCESS
    assert run.dag_id == "example_spark_pipeline"
    assert run.run_id.startswith("example_spark_pipeline/")
    assert run.metrics == {"records_read": 2000, "records_written": 4, "regions": 4}
    assert run.spark_application_id
    assert run.spark_application_id.startswith("local-")
    assert run.end_time is not None
    assert run.end_time > run.start_time
    assert registry.runs.list_running().items == []
    stored = registry.runs.get_attributes(run.run_id, "sales_daily", ["start_time", "end_time"])
    assert stored is not None
    assert all(str(value).endswith("Z") and len(str(value)) == 27 for value in stored.values())
    # the run logs are printed in the user's timezone with UTC beside it
    assert "pipeline_run_logs (times in America/New_York)" in output
    assert " EST (" in output

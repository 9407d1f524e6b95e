"""The example DAGs: they parse, and the demo runs both end to end (real Airflow, real Spark)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from airflow_provider_pipeline_registry.compat import AIRFLOW_V_3_PLUS

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
    # example_generated_dags.py without a snapshot file: its maintenance DAG only
    assert set(dags) == {
        "example_spark_pipeline",
        "example_downstream_pipeline",
        "example_asset_consumer",
        "pipeline_registry_dag_snapshot",
    }
    spark = dags["example_spark_pipeline"]
    assert [t.task_id for t in spark.topological_sort()] == [
        "sales_daily.load_config",
        "sales_daily.start_run",
        "sales_daily.run_spark_job",
        "sales_daily.end_run",
    ]
    assert spark.get_task("sales_daily.end_run").trigger_rule == "all_done"
    sensor = dags["example_downstream_pipeline"].get_task("wait_for_sales_daily")
    assert sensor.deferrable is True
    # the asset pair (Airflow 3): the producer's end operator emits through the pipeline's alias,
    # the consumer is scheduled on the asset of sales_daily's target table
    if AIRFLOW_V_3_PLUS:
        assert [a.name for a in spark.get_task("sales_daily.end_run").outlets] == ["pipeline-registry:sales_daily"]
        consumer = dags["example_asset_consumer"]
        assert [a.uri for a in consumer.timetable.asset_condition.objects] == [
            "file:///tmp/pipeline-registry-example/data/curated/sales_by_region"
        ]
    else:  # Airflow 2 loads the consumer (a dataset schedule) but the registry emits no events there
        assert spark.get_task("sales_daily.end_run").outlets == []


def test_every_python_file_in_dags_examples_is_a_dag_or_a_job() -> None:
    files = {p.relative_to(EXAMPLES).as_posix() for p in EXAMPLES.rglob("*.py")}
    assert files == {
        "example_spark_pipeline.py",
        "example_downstream_pipeline.py",
        "example_asset_consumer.py",
        "example_generated_dags.py",
        "jobs/sales_by_region.py",
    }


@pytest.mark.airflow
@pytest.mark.spark
@pytest.mark.integration
def test_demo_runs_both_dags_end_to_end(tmp_path: Path) -> None:
    """The README's first command as a newcomer runs it: no endpoint configured, so the demo starts
    (and stops) an embedded DynamoDB Local; its summary is the stored runs, read back from there.
    The example pipeline runs twice, new sales arriving in between: the second run reads only those."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "DYNAMODB_", "PIPELINE_REGISTRY_"))}
    env.update(DYNAMODB_USER_TIMEZONE="America/New_York", COLUMNS="80")
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "demo.py")],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    assert re.search(r"==> started an embedded DynamoDB Local at http://127\.0\.0\.1:\d+", result.stdout)
    assert "==> stopped the embedded DynamoDB Local" in result.stdout
    assert output.count("example_spark_pipeline: success") == 2  # run twice: the second is incremental
    assert "==> 500 new sales arrived: the second run reads only those" in output
    assert "example_downstream_pipeline: success" in output
    if AIRFLOW_V_3_PLUS:  # the asset consumer runs on the producer's event
        assert "example_asset_consumer: success" in output
        assert "/curated/sales_by_region: run example_spark_pipeline/" in output
        assert "records_written=4" in output
    # the summary, printed last: the run as stored, in the user's timezone (80 columns: one block)
    summary = result.stdout[result.stdout.index("==> summary") :]
    assert summary.rstrip().endswith("demo OK: both DAGs succeeded")
    assert "pipeline_run_logs (times in America/New_York)" in summary
    assert re.search(r"run id +example_spark_pipeline/manual__", summary)
    assert re.search(r"pipeline +sales_daily\b", summary)
    assert re.search(r"status +SUCCESS\b", summary)
    assert re.search(r"started +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d EST \(", summary)
    # the first run read every sale, the second only the new ones (the watermark committed by the first)
    assert '{"records_read": 2000, "records_written": 4, "regions": 4}' in summary
    assert '{"records_read": 500, "records_written": 4, "regions": 4}' in summary
    assert (
        "watermark of sales_daily.raw_sales (order_id): 2499\n  commit none -> 1999\n  commit 1999 -> 2499" in summary
    )
    assert re.search(r"spark app +local-\d+", summary)
    lines = summary.splitlines()
    assert len(lines) < 40
    assert max(map(len, lines)) <= 80

"""The run logger inside ``@task.pyspark`` under real Airflow ``dag.test()`` (in-process Spark)."""

from __future__ import annotations

import logging
import os
from typing import Any

import pytest
from dag_modules import load_dag_module

from airflow_provider_pipeline_registry.registry.run_env import derive_run_id


@pytest.mark.spark
@pytest.mark.airflow
@pytest.mark.integration
def test_pyspark_task_records_its_run_with_the_logger(
    airflow_db: Any, registry_conn_id: str, registry_hook: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    dags = load_dag_module("pyspark_task_dags.py")
    monkeypatch.setenv(f"AIRFLOW_CONN_{dags.CONN_ID.upper()}", os.environ[f"AIRFLOW_CONN_{registry_conn_id.upper()}"])
    registry = registry_hook.registry
    registry.pipelines_write.create({"pipeline_id": dags.PIPELINE_ID, "name": "pyspark task pipeline"})

    try:
        dag_run = dags.pyspark_dag.test()
    finally:
        _stop_in_process_spark()

    assert dag_run.state == "success"
    run = registry.runs.get_by_id(derive_run_id(dags.pyspark_dag.dag_id, dag_run.run_id), dags.PIPELINE_ID)
    assert run.status.value == "SUCCESS"
    assert run.metrics == {"records_read": 1000, "records_written": 500}
    assert run.spark_application_id is not None
    assert run.spark_application_id.startswith("local-")
    assert run.dag_id == dags.pyspark_dag.dag_id
    assert registry.runs.list_running().items == []


def _stop_in_process_spark() -> None:
    """@task.pyspark leaves its SparkContext running in this process: stop it (and its JVM gateway)."""
    from pyspark import SparkContext

    # py4j logs its connection shutdown at interpreter exit, after pytest closed the captured streams
    logging.getLogger("py4j").setLevel(logging.WARNING)
    active = SparkContext._active_spark_context
    if active is not None:
        active.stop()

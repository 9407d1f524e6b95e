"""The PySpark job of the deployment scenarios; it records its run with PipelineRunLogger.from_env().

Usage: ``spark-submit scenario_job.py MODE MARKERS_DIR`` where MODE is
* ``ok``: count a few rows, succeed;
* ``raise``: raise ``ValueError("deployment scenario: bad input row 7")``;
* ``wait``: write ``MARKERS_DIR/<pipeline>.pid`` (the driver's pid), then wait (at most 25 minutes)
  until Airflow stops the task;
* ``fail_first_try``: raise on try 1 (``AIRFLOW_CTX_TRY_NUMBER``), succeed on a retry;
* ``echo``: write the arguments and ``job_parameters()`` it received to
  ``MARKERS_DIR/<pipeline>.<run's dag run id>.json`` (names made safe), succeed.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path

from pyspark.sql import SparkSession

from airflow_provider_pipeline_registry.registry import PipelineRunLogger


def main(mode: str, markers_dir: str) -> None:
    spark = SparkSession.builder.appName(f"deployment-scenario-{mode}").getOrCreate()
    with PipelineRunLogger.from_env(spark=spark) as run:
        run.records_read(spark.range(0, 100, numPartitions=1).count())
        if mode == "raise":
            raise ValueError("deployment scenario: bad input row 7")
        if mode == "fail_first_try" and os.environ.get("AIRFLOW_CTX_TRY_NUMBER") == "1":
            raise RuntimeError("deployment scenario: the first try fails on purpose")
        if mode == "wait":
            marker = Path(markers_dir) / f"{os.environ['PIPELINE_REGISTRY_PIPELINE_ID']}.pid"
            marker.write_text(str(os.getpid()))
            deadline = time.monotonic() + 1500
            while time.monotonic() < deadline:
                time.sleep(0.2)
        if mode == "echo":
            from airflow_provider_pipeline_registry.registry.run_env import job_parameters

            name = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{run.pipeline_id}.{os.environ.get('AIRFLOW_CTX_DAG_RUN_ID', '')}")
            received = {"args": sys.argv[1:], "parameters": job_parameters(), "run_id": run.run_id}
            (Path(markers_dir) / f"{name}.json").write_text(json.dumps(received))
        run.records_written(1)
    spark.stop()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

"""A small PySpark job that records its run with PipelineRunLogger.from_env().

Usage: ``spark-submit logged_job.py MODE [GO_FILE]`` where MODE is
* ``ok``: count rows, wait until two heartbeats were sent, succeed;
* ``raise``: count rows, then raise ``ValueError("bad input row 42")``;
* ``wait``: print READY and run small Spark jobs until killed (or GO_FILE appears), then succeed.
"""

from __future__ import annotations

import faulthandler
import logging
import os
import sys
import time
from pathlib import Path

from pyspark.sql import SparkSession

from airflow_provider_pipeline_registry.registry import PipelineRunLogger


def _log_to_file() -> None:
    """Log to stderr (relayed by spark-submit's JVM) and to JOB_LOG_FILE: once the JVM is gone, the
    driver's stderr goes nowhere, and the tests read the driver's own log from the file."""
    path = os.environ.get("JOB_LOG_FILE")
    if path:
        stream = open(path, "a", buffering=1)  # noqa: SIM115 - open for the life of the driver
        logging.basicConfig(
            handlers=[logging.StreamHandler(sys.stderr), logging.StreamHandler(stream)],
            level=logging.WARNING,
            format="%(asctime)s %(threadName)s %(levelname)s %(name)s: %(message)s",
        )
        logging.getLogger("airflow_provider_pipeline_registry").setLevel(logging.INFO)
        faulthandler.enable(stream)


def main(mode: str, go_file: str | None) -> None:
    _log_to_file()
    spark = SparkSession.builder.appName(f"logged-job-{mode}").getOrCreate()
    with PipelineRunLogger.from_env(spark=spark) as run:
        Path(os.environ["JOB_PID_FILE"]).write_text(str(os.getpid()))
        rows = spark.range(0, 1000, numPartitions=2)
        run.records_read(rows.count())
        if mode == "raise":
            raise ValueError("bad input row 42")
        if mode == "ok":
            deadline = time.monotonic() + 60
            while run.heartbeats_sent < 3 and time.monotonic() < deadline:
                time.sleep(0.1)
        if mode == "wait":
            print("READY", flush=True)
            deadline = time.monotonic() + 120
            while not (go_file and Path(go_file).exists()) and time.monotonic() < deadline:
                spark.range(10).count()
                time.sleep(0.2)
        run.records_written(rows.filter("id % 2 = 0").count())
    print("JOB DONE", flush=True)
    spark.stop()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None)

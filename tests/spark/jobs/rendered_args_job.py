"""A Spark job run by ``PipelineRunTaskGroup`` in tests/airflow/test_pipeline_task_group.py: it joins
its run with ``PipelineRunLogger.from_env()`` and writes what it received (its Spark conf, its
arguments, ``job_parameters()`` and the run logger's identity) to ``spark.pipeline.test.output``."""

from __future__ import annotations

import json
import sys

from pyspark.sql import SparkSession

from airflow_provider_pipeline_registry.registry.run_env import job_parameters
from airflow_provider_pipeline_registry.registry.run_logger import PipelineRunLogger

with PipelineRunLogger.from_env() as run:
    spark = SparkSession.builder.getOrCreate()
    try:
        conf = dict(spark.sparkContext.getConf().getAll())
        with open(conf["spark.pipeline.test.output"], "w", encoding="utf-8") as out:
            json.dump(
                {
                    "conf": conf,
                    "args": sys.argv[1:],
                    "parameters": job_parameters(),
                    "run_id": run.run_id,
                    "pipeline_id": run.pipeline_id,
                },
                out,
            )
        run.add_metric("rows", 1)
    finally:
        spark.stop()

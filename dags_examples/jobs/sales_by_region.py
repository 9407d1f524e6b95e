"""Example PySpark job: revenue per region, recorded in the registry by PipelineRunLogger.

Launched by SparkSubmitOperator with ``env_vars`` from LoadPipelineConfigOperator's
``run_logger_env`` XCom, so the logger and the registry client are configured from the
environment. The job reads its source and target locations from its table configs: the Spark
driver needs only boto3 and pydantic besides pyspark.
"""

from __future__ import annotations

import argparse
import sys

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from airflow_provider_pipeline_registry.registry import DynamoDBConfig, Registry, TableRole
from airflow_provider_pipeline_registry.registry.run_logger import PipelineRunLogger


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--min-amount", type=float, default=0.0)
    args = parser.parse_args(argv)

    with PipelineRunLogger.from_env() as run:
        registry = Registry(DynamoDBConfig.from_env())
        tables = list(registry.tables.iter_by_pipeline(run.pipeline_id, active_only=True))
        source = next(t for t in tables if t.role is TableRole.SOURCE)
        target = next(t for t in tables if t.role is TableRole.TARGET)

        spark = SparkSession.builder.appName(f"{run.pipeline_id}:{run.run_id}").getOrCreate()
        run.attach_spark(spark)

        sales = spark.read.format(source.format.value).options(**source.options).load(source.location)
        run.records_read(sales.count())
        by_region = (
            sales.where(F.col("amount") >= args.min_amount)
            .groupBy("region")
            .agg(F.round(F.sum("amount"), 2).alias("revenue"), F.count("*").alias("orders"))
        )
        by_region.write.mode("overwrite").partitionBy(*target.partition_columns).format(target.format.value).save(
            target.location
        )
        written = spark.read.format(target.format.value).load(target.location)
        run.records_written(written.count())
        run.add_metric("regions", written.select("region").distinct().count())
        spark.stop()


if __name__ == "__main__":
    main(sys.argv[1:])

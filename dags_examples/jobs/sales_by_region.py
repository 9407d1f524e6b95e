"""Example PySpark job: revenue per region of the new sales, recorded in the registry by PipelineRunLogger.

Launched by SparkSubmitOperator with ``env_vars`` from LoadPipelineConfigOperator's
``run_logger_env`` XCom, so the logger and the registry client are configured from the
environment. The job reads its source and target locations from its table configs: the Spark
driver needs only boto3 and pydantic besides pyspark.

Incremental: it reads only the sales newer than the source table's committed watermark
(``run.watermark``, None on the first run: everything) and stages the highest ``order_id`` it read
(``run.advance_watermark_from``, one aggregate); the registry commits it with the run's SUCCESS, never otherwise, so a
failed run is read again by the next one. The batch is written to its own partitions, keyed by the
low bound it read (dynamic partition overwrite): a retry of the run rewrites them instead of adding
a copy, so the target holds each sale exactly once.
"""

from __future__ import annotations

import argparse
import sys

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from airflow_provider_pipeline_registry.registry import DynamoDBConfig, Registry, TableRole
from airflow_provider_pipeline_registry.registry.run_logger import PipelineRunLogger

#: the target's partition column naming the batch: the source's low bound it was read after (-1: all)
BATCH_COLUMN = "after_order_id"


# --8<-- [start:job]
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

        column = source.watermark_column or "order_id"  # the seed declares it (integer)
        low = run.watermark(source.table_id)  # the committed low bound, the same for the whole run
        sales = spark.read.format(source.format.value).options(**source.options).load(source.location)
        if low is not None:
            sales = sales.where(F.col(column) > F.lit(int(low)))
        sales = sales.cache()
        run.records_read(sales.count())
        batch = int(low) if low is not None else -1  # the partition of this batch: rows after ``batch``
        by_region = (
            sales.where(F.col("amount") >= args.min_amount)
            .groupBy("region")
            .agg(F.round(F.sum("amount"), 2).alias("revenue"), F.count("*").alias("orders"))
            .withColumn(BATCH_COLUMN, F.lit(batch))
        )
        by_region.write.mode("overwrite").partitionBy(*target.partition_columns).format(target.format.value).save(
            target.location
        )
        written = spark.read.format(target.format.value).load(target.location).where(F.col(BATCH_COLUMN) == batch)
        run.records_written(written.count())
        run.add_metric("regions", written.select("region").distinct().count())
        # the high bound, max(order_id) of what was read: staged on the run, committed with its SUCCESS only
        run.advance_watermark_from(source.table_id, sales)
        spark.stop()


# --8<-- [end:job]


if __name__ == "__main__":
    main(sys.argv[1:])

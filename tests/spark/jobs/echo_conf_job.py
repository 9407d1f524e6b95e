"""A Spark job that writes the conf and the arguments it received to ``spark.pipeline.test.output``
(and prints nothing of them): how tests/reliability/test_config_secrets.py sees what the job got."""

from __future__ import annotations

import json
import sys

from pyspark.sql import SparkSession

spark = SparkSession.builder.getOrCreate()
try:
    conf = dict(spark.sparkContext.getConf().getAll())
    with open(conf["spark.pipeline.test.output"], "w", encoding="utf-8") as out:
        json.dump({"conf": conf, "args": sys.argv[1:]}, out)
finally:
    spark.stop()

"""``high_watermark`` and ``run.advance_watermark_from`` on a real local SparkSession."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from airflow_provider_pipeline_registry.registry import Registry, high_watermark
from airflow_provider_pipeline_registry.registry.run_logger import PipelineRunLogger

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[1]")
        .appName("watermark-test")
        .config("spark.sql.session.timeZone", "Asia/Tokyo")  # not UTC: the result must not depend on it
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )
    yield session
    session.stop()


def test_high_watermark_of_each_type_in_one_aggregate(spark: Any) -> None:
    rows = [
        (1, "b", datetime(2026, 3, 29, 0, 59, 59, 999999, tzinfo=UTC)),
        (10, "a", datetime(2026, 3, 29, 1, 0, 0, 1, tzinfo=UTC)),
        (9, "c", None),
    ]
    df = spark.createDataFrame(rows, "n long, s string, `updated at` timestamp")
    assert high_watermark(df, "n", "integer") == "10"
    assert high_watermark(df, "s", "string") == "c"
    assert high_watermark(df, "updated at", "timestamp") == "2026-03-29T01:00:00.000001Z"
    empty = df.limit(0)
    assert high_watermark(empty, "n", "integer") is None
    assert high_watermark(empty, "updated at", "timestamp") is None


def test_advance_watermark_from_a_dataframe_commits_with_the_success_end(spark: Any, registry: Registry) -> None:
    registry.pipelines_write.create({"pipeline_id": "p", "name": "p"})
    registry.tables_write.create(
        {
            "table_id": "events",
            "pipeline_id": "p",
            "table_name": "events",
            "load_type": "incremental",
            "watermark_column": "ts",
            "watermark_type": "timestamp",
        }
    )
    df = spark.createDataFrame(
        [(datetime(2026, 1, 1, tzinfo=UTC),), (datetime(2026, 1, 2, 12, tzinfo=UTC),)], "ts timestamp"
    )
    with PipelineRunLogger(pipeline_id="p", run_id="r1", registry=registry, handle_sigterm=False) as run:
        assert run.watermark("events") is None
        assert run.advance_watermark_from("events", df) == "2026-01-02T12:00:00.000000Z"
    assert registry.tables.watermark("events").value == "2026-01-02T12:00:00.000000Z"
    with PipelineRunLogger(pipeline_id="p", run_id="r2", registry=registry, handle_sigterm=False) as run:
        low = run.watermark("events")
        new_rows = df.where(df.ts > datetime.fromisoformat(low or ""))
        assert new_rows.count() == 0
        assert run.advance_watermark_from("events", new_rows) is None  # no rows: nothing staged
    assert registry.tables.watermark_history("events")[-1].run_id == "r1"

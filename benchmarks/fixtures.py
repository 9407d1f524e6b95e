"""Realistic run-log and table-config values shared by every benchmark (same data for every variant)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from airflow_provider_pipeline_registry.registry.timezones import format_utc

PIPELINE_ID = "sales_daily_load"
QUERY_PIPELINE_ID = "orders_hourly_merge"
BASE_TIME = datetime(2026, 3, 8, 6, 0, 0, 123456, tzinfo=UTC)


def run_log_values(i: int, *, pipeline_id: str = PIPELINE_ID, prefix: str = "scheduled") -> dict[str, Any]:
    """A finished run log as a Spark-on-Airflow deployment writes it (about 700 bytes stored)."""
    start = BASE_TIME + timedelta(minutes=i)
    end = start + timedelta(seconds=61, microseconds=234_500)
    return {
        "run_id": f"{prefix}__2026-03-08T06:00:00+00:00.{i:06d}",
        "pipeline_id": pipeline_id,
        "status": "SUCCESS",
        "try_number": 1,
        "start_time": start,
        "end_time": end,
        "heartbeat_at": end - timedelta(seconds=5),
        "dag_id": f"{pipeline_id}_dag",
        "dag_run_id": "scheduled__2026-03-08T06:00:00+00:00",
        "task_id": "spark_submit",
        "logical_date": BASE_TIME,
        "spark_application_id": f"application_1741400000000_{i:04d}",
        "spark_application_name": f"{pipeline_id}-{i}",
        "spark_ui_url": f"http://spark-driver-{i % 7}.internal:4040",
        "metrics": {
            "rows_read": 1_234_567 + i,
            "rows_written": 1_230_001 + i,
            "bytes_written": 987_654_321,
            "input_files": 48,
            "shuffle_mb": 512.25,
        },
    }


def table_config_values(i: int, *, pipeline_id: str = PIPELINE_ID, prefix: str = "tbl") -> dict[str, Any]:
    """A Delta target table of a pipeline, with partitioning, keys, watermark and options."""
    return {
        "table_id": f"{prefix}.sales.fact_orders_{i:06d}",
        "pipeline_id": pipeline_id,
        "table_name": f"fact_orders_{i}",
        "database": "sales_curated",
        "role": "target",
        "location": f"s3://acme-lake/curated/sales/fact_orders_{i}/",
        "format": "delta",
        "load_type": "merge",
        "watermark_column": "updated_at",
        "watermark_value": "2026-03-08T05:59:59Z",
        "partition_columns": ["event_date", "region"],
        "primary_keys": ["order_id", "line_no"],
        "options": {"mergeSchema": "true", "compression": "zstd", "delta.autoOptimize.optimizeWrite": "true"},
        "is_active": True,
        "description": "Order lines, merged hourly from the OLTP change feed.",
    }


def plain_for_boto3(values: dict[str, Any]) -> dict[str, Any]:
    """What a hand-written boto3 user keeps: datetimes as storage strings, numbers as Decimal."""

    def convert(value: Any) -> Any:
        if isinstance(value, datetime):
            return format_utc(value)
        if isinstance(value, bool):
            return value
        if isinstance(value, int | float):
            return Decimal(str(value))
        if isinstance(value, dict):
            return {k: convert(v) for k, v in value.items()}
        if isinstance(value, list):
            return [convert(v) for v in value]
        return value

    return {k: convert(v) for k, v in values.items() if v is not None}

"""Human output fits the terminal: at 80 columns no column is cut off or silently left out; at
200 columns the same data is one table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cli_harness import Cli
from rich.console import Console

from airflow_provider_pipeline_registry.cli.render import FitTable
from airflow_provider_pipeline_registry.registry import Registry

pytestmark = pytest.mark.integration

TABLE_COLUMNS = ("table_id", "table", "role", "format", "load", "location", "active")
RUN_COLUMNS = ("run_id", "status", "try", "start", "end", "duration", "error")


@pytest.fixture
def seeded(registry: Registry) -> Registry:
    registry.pipelines_write.upsert(
        {"pipeline_id": "sales_daily", "name": "Daily sales by region", "owner": "data-eng", "schedule": "@daily"}
    )
    registry.pipelines_write.upsert({"pipeline_id": "old_one", "name": "Old", "owner": "x", "is_active": False})
    registry.tables_write.upsert(
        {
            "table_id": "sales_daily.orders_raw_source",
            "pipeline_id": "sales_daily",
            "table_name": "orders",
            "database": "raw",
            "format": "parquet",
            "load_type": "incremental",
            "location": "s3://lake/raw/sales/orders/",
            "is_active": False,
        }
    )
    start = datetime(2026, 3, 8, 6, 59, 30, tzinfo=UTC)
    for i in range(2):
        run_id = f"example_spark_pipeline/manual__2026-03-08T06:5{i}:30.123456+00:00"
        registry.runs_write.start({"run_id": run_id, "pipeline_id": "sales_daily", "start_time": start})
        registry.runs_write.finish(
            {
                "run_id": run_id,
                "pipeline_id": "sales_daily",
                "status": "FAILED",
                "end_time": start + timedelta(seconds=754.4),
                "error_type": "Py4JJavaError",
            }
        )
    return registry


def _lines_fit(text: str, width: int) -> None:
    too_long = [line for line in text.splitlines() if len(line.rstrip()) > width]
    assert not too_long, too_long


@pytest.mark.parametrize("width", [80, 200])
def test_pipelines_show_keeps_every_table_column(cli: Cli, seeded: Registry, width: int) -> None:
    result = cli("pipelines", "show", "sales_daily", width=width)
    assert result.exit_code == 0, result.output
    _lines_fit(result.stdout, width)
    out = result.stdout
    for column in TABLE_COLUMNS:
        assert column in out
    for value in ("sales_daily.orders_raw_source", "raw.orders", "incremental", "s3://lake/raw/sales/orders/"):
        assert value in out
    assert "active    no" in out if width == 80 else " no" in out
    if width == 200:  # one table: every header on one line
        assert any(all(c in line for c in TABLE_COLUMNS) for line in out.splitlines())
    else:
        assert "do not fit in 80 columns" in out


@pytest.mark.parametrize("width", [80, 200])
def test_runs_list_keeps_the_error_column(cli: Cli, seeded: Registry, width: int) -> None:
    result = cli("runs", "list", "-p", "sales_daily", width=width, tz="America/New_York")
    assert result.exit_code == 0, result.output
    _lines_fit(result.stdout, width)
    out = result.stdout
    for column in RUN_COLUMNS:
        assert column in out
    assert out.count("Py4JJavaError") == 2
    assert out.count("12m34s") == 2
    assert "example_spark_pipeline/manual__2026-03-08T06:50:30.123456+00:00" in out
    if width == 200:
        assert any(all(c in line for c in RUN_COLUMNS) for line in out.splitlines())


@pytest.mark.parametrize("width", [80, 200])
def test_pipelines_list_keeps_the_active_column(cli: Cli, seeded: Registry, width: int) -> None:
    result = cli("pipelines", "list", "--all", width=width)
    assert result.exit_code == 0, result.output
    _lines_fit(result.stdout, width)
    header = next(line for line in result.stdout.splitlines() if "pipeline_id" in line)
    for column in ("pipeline_id", "name", "owner", "active", "schedule", "version"):
        assert column in header  # short rows fit as one table, even at 80 columns
    assert "@daily" in result.stdout


@pytest.mark.parametrize("width", [40, 60, 80, 120, 200])
def test_fit_table_never_crops(width: int) -> None:
    rows = [("x" * 30, "FAILED", "1", "2026-03-08 01:59:30 EST (06:59:30 UTC)", "-", "3m05s", "Py4JJavaError")]
    table = FitTable("1 run(s)", RUN_COLUMNS, rows)
    console = Console(width=width, record=True, soft_wrap=False)
    console.print(table)
    text = console.export_text()
    _lines_fit(text, width)
    assert "Py4JJavaError" in text
    assert ("do not fit" in text) == (table.layout == "vertical")

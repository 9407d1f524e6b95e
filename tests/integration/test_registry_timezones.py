"""Views render stored UTC times in the user's timezone (config, or a per-call override that wins)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from airflow_provider_pipeline_registry.registry import ValidationError, format_for_display

pytestmark = pytest.mark.integration

# New York springs forward at 2026-03-08 07:00 UTC (02:00 EST -> 03:00 EDT)
BEFORE = datetime(2026, 3, 8, 6, 59, 30, tzinfo=UTC)
AFTER = datetime(2026, 3, 8, 7, 0, 30, tzinfo=UTC)


def test_views_in_three_zones_across_a_dst_change(make_registry: Any) -> None:
    new_york = make_registry(user_timezone="America/New_York")
    new_york.runs_write.start({"run_id": "r", "pipeline_id": "p", "start_time": BEFORE})
    new_york.runs_write.finish({"run_id": "r", "pipeline_id": "p", "status": "SUCCESS", "end_time": AFTER})
    view = new_york.runs.get_by_id("r", "p", consistent=True)
    assert view.display_timezone == "America/New_York"
    assert view.start_time.isoformat() == "2026-03-08T01:59:30-05:00"
    assert view.end_time is not None
    assert view.end_time.isoformat() == "2026-03-08T03:00:30-04:00"
    assert view.duration_seconds == 60  # one minute, though the wall clock moved an hour
    assert format_for_display(view.start_time, view.display_timezone) == "2026-03-08 01:59:30 EST (06:59:30 UTC)"
    assert format_for_display(view.end_time, view.display_timezone) == "2026-03-08 03:00:30 EDT (07:00:30 UTC)"

    paris = make_registry(user_timezone="Europe/Paris").runs.get_by_id("r", "p")
    assert paris.start_time.isoformat() == "2026-03-08T07:59:30+01:00"
    kolkata = make_registry(user_timezone="Asia/Kolkata").runs.get_by_id("r", "p")
    assert kolkata.start_time.isoformat() == "2026-03-08T12:29:30+05:30"
    utc = make_registry().runs.get_by_id("r", "p")
    assert utc.start_time == BEFORE
    assert utc.display_timezone == "UTC"
    assert paris.start_time == kolkata.start_time == view.start_time == BEFORE  # the same instant

    # a per-call tz beats the config, on every read
    override = new_york.runs.get_by_id("r", "p", tz="Asia/Kolkata")
    assert override.display_timezone == "Asia/Kolkata"
    assert override.start_time.utcoffset() == timedelta(hours=5, minutes=30)
    listed = new_york.runs.list_by_pipeline("p", tz="Europe/Paris")
    assert [r.start_time.utcoffset() for r in listed] == [timedelta(hours=1)]
    assert next(iter(new_york.runs.iter_running(tz="Europe/Paris")), None) is None
    latest = new_york.runs.latest("p", tz=ZoneInfo("Europe/Paris"))
    assert latest is not None
    assert latest.display_timezone == "Europe/Paris"

    raw = new_york.client.get_item(
        TableName=new_york.config.table_name("pipeline_run_logs"),
        Key={"run_id": {"S": "r"}, "pipeline_id": {"S": "p"}},
        ConsistentRead=True,
    )["Item"]
    assert raw["start_time"] == {"S": "2026-03-08T06:59:30.000000Z"}  # storage stays UTC
    assert raw["end_time"] == {"S": "2026-03-08T07:00:30.000000Z"}


def test_config_views_use_the_configured_zone(make_registry: Any) -> None:
    paris = make_registry(user_timezone="Europe/Paris")
    created = paris.pipelines_write.create({"pipeline_id": "p", "name": "P"})
    view = paris.pipelines.get_by_id("p")
    assert view.created_at.tzinfo == ZoneInfo("Europe/Paris")
    assert view.created_at == created.created_at
    assert paris.pipelines.get_by_id("p", tz="UTC").created_at.utcoffset() == timedelta(0)
    assert [v.display_timezone for v in paris.pipelines.list_active(tz="Asia/Kolkata")] == ["Asia/Kolkata"]
    paris.tables_write.create({"table_id": "t", "pipeline_id": "p", "table_name": "db.t"})
    assert paris.tables.get_by_id("t").display_timezone == "Europe/Paris"
    assert [v.display_timezone for v in paris.tables.get_many(["t"], tz="America/New_York")] == ["America/New_York"]


def test_naive_input_is_read_in_the_user_zone_and_dst_traps_refused(make_registry: Any) -> None:
    new_york = make_registry(user_timezone="America/New_York")
    started = new_york.runs_write.start({"run_id": "n", "pipeline_id": "p", "start_time": datetime(2026, 3, 8, 1, 30)})
    assert started.start_time == datetime(2026, 3, 8, 6, 30, tzinfo=UTC)
    with pytest.raises(ValidationError, match="does not exist in America/New_York") as info:
        new_york.runs_write.start({"run_id": "gap", "pipeline_id": "p", "start_time": datetime(2026, 3, 8, 2, 30)})
    assert info.value.field == "start_time"
    with pytest.raises(ValidationError, match="ambiguous") as info:
        new_york.runs_write.finish(
            {"run_id": "n", "pipeline_id": "p", "status": "SUCCESS", "end_time": datetime(2026, 11, 1, 1, 30)}
        )
    assert info.value.field == "end_time"
    done = new_york.runs_write.finish(
        {"run_id": "n", "pipeline_id": "p", "status": "SUCCESS", "end_time": datetime(2026, 11, 1, 1, 30, fold=1)}
    )
    assert done.end_time == datetime(2026, 11, 1, 6, 30, tzinfo=UTC)
    assert new_york.runs.find_by_id("gap", "p") is None

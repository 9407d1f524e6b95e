"""``registry.schedules``: every form a pipeline's ``schedule`` may take, and a typed error naming
the field for anything else (no Airflow, no cron library)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from airflow_provider_pipeline_registry.registry.errors import ValidationError
from airflow_provider_pipeline_registry.registry.pipeline_config import PipelineConfigUpsert
from airflow_provider_pipeline_registry.registry.schedules import Schedule, parse_dag_settings, parse_schedule


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, Schedule("none")),
        ("", Schedule("none")),
        ("None", Schedule("none")),
        ("manual", Schedule("none")),
        ("@daily", Schedule("preset", value="@daily")),
        ("@Once", Schedule("preset", value="@once")),
        ("@continuous", Schedule("preset", value="@continuous")),
        ("0 3 * * *", Schedule("cron", value="0 3 * * *")),
        ("*/15  9-17 * JAN-MAR mon-fri", Schedule("cron", value="*/15 9-17 * JAN-MAR mon-fri")),
        ("0 0 L * *", Schedule("cron", value="0 0 L * *")),
        ("0 0 * * 1#2", Schedule("cron", value="0 0 * * 1#2")),
        ("0 0 1,15 * 0,7", Schedule("cron", value="0 0 1,15 * 0,7")),
        ("PT6H", Schedule("duration", interval=timedelta(hours=6))),
        ("P1DT12H", Schedule("duration", interval=timedelta(days=1, hours=12))),
        ("P2W", Schedule("duration", interval=timedelta(weeks=2))),
        ("PT90S", Schedule("duration", interval=timedelta(seconds=90))),
        ("after:orders", Schedule("after", after=("orders",))),
        ("after: orders, billing", Schedule("after", after=("orders", "billing"))),
        ("After orders", Schedule("after", after=("orders",))),
    ],
)
def test_accepted_forms(value: str | None, expected: Schedule) -> None:
    assert parse_schedule(value, pipeline_id="me") == expected


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("daily", "a cron expression has 5 fields"),
        ("@dayly", "unknown preset"),
        ("0 24 * * *", "cron hour field '24'"),
        ("60 * * * *", "cron minute field '60'"),
        ("* * 0 * *", "cron day of month field '0'"),
        ("* * * 13 *", "cron month field '13'"),
        ("* * * * 8", "cron day of week field '8'"),
        ("*/0 * * * *", "step '0'"),
        ("5-1 * * * *", "goes backwards"),
        ("* * * * MON#6", "weekday#n"),
        ("0 0 * * * *", "this has 6"),
        ("P1M", "months or years"),
        ("P1Y", "months or years"),
        ("PT0S", "must be positive"),
        ("P", "not a schedule"),
        ("after:", "needs pipeline ids"),
        ("after:me", "cannot run after itself"),
    ],
)
def test_refused_forms_name_the_field(value: str, problem: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_schedule(value, pipeline_id="me")
    assert caught.value.field == "schedule"
    assert problem in str(caught.value)
    assert str(caught.value).startswith("schedule: ")


def test_the_upsert_dto_checks_schedule_and_dag_when_written() -> None:
    with pytest.raises(ValueError, match=r"schedule[\s\S]*cron hour field '25'"):
        PipelineConfigUpsert(pipeline_id="p", name="p", schedule="0 25 * * *")
    with pytest.raises(ValueError, match=r"dag\.retries: must be a whole number >= 0"):
        PipelineConfigUpsert(pipeline_id="p", name="p", dag={"retries": -1})
    ok = PipelineConfigUpsert(pipeline_id="p", name="p", schedule="after:q", dag={"retries": 2})
    assert ok.schedule == "after:q"


def test_dag_settings() -> None:
    settings = parse_dag_settings(
        {
            "retries": 2,
            "retry_delay": "PT5M",
            "start_date": "2026-01-15",
            "catchup": True,
            "max_active_runs": 1,
            "dagrun_timeout": 7200,
        }
    )
    assert settings.retries == 2
    assert settings.retry_delay == timedelta(minutes=5)
    assert settings.start_date == datetime(2026, 1, 15, tzinfo=UTC)
    assert settings.catchup is True
    assert settings.dagrun_timeout == timedelta(hours=2)
    for bad, field in (
        ({"retries": True}, "dag.retries"),
        ({"catchup": "yes"}, "dag.catchup"),
        ({"start_date": "soon"}, "dag.start_date"),
        ({"max_active_runs": 0}, "dag.max_active_runs"),
        ({"retry_delay": "P1M"}, "dag.retry_delay"),
        ({"owner": "x"}, "dag"),
    ):
        with pytest.raises(ValidationError) as caught:
            parse_dag_settings(bad)
        assert caught.value.field == field

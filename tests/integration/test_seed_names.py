"""The seed library's documented calls work as its users wrote them (thin aliases over the real API).

README "The APIs" > "Seed-library names" lists them: ``get_by_id(id, projection=[...])`` on every
read API, ``create_pipeline``/``update_pipeline``/``upsert_pipeline``/``delete_pipeline`` and the
``*_table`` siblings, ``runs.get_by_id(run_id)`` without the pipeline, and ``DynamoDBConfig()``
honouring ``DYNAMODB_USER_TIMEZONE``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from airflow_provider_pipeline_registry.registry import (
    ConfigurationError,
    DynamoDBConfig,
    ItemNotFoundError,
    PipelineConfig,
    PipelineRunLogView,
    Registry,
    TableConfig,
    ValidationError,
)

pytestmark = pytest.mark.integration


def test_pipeline_write_names_of_the_seed(registry: Registry) -> None:
    api = registry.pipelines_write
    created = api.create_pipeline({"pipeline_id": "sales", "name": "Sales"})
    assert isinstance(created, PipelineConfig)
    assert created.version == 1
    updated = api.update_pipeline("sales", {"owner": "analytics"}, expected_version=1)
    assert (updated.owner, updated.version) == ("analytics", 2)
    replaced = api.upsert_pipeline({"pipeline_id": "sales", "name": "Sales v2"}, expected_version=2)
    assert (replaced.name, replaced.owner, replaced.version) == ("Sales v2", "unknown", 3)
    deleted = api.delete_pipeline("sales", expected_version=3)
    assert deleted.version == 3
    assert registry.pipelines.find_by_id("sales", consistent=True) is None


def test_table_write_names_of_the_seed(registry: Registry) -> None:
    api = registry.tables_write
    created = api.create_table({"table_id": "sales.orders", "pipeline_id": "sales", "table_name": "raw.orders"})
    assert isinstance(created, TableConfig)
    assert api.update_table("sales.orders", {"format": "delta"}).format.value == "delta"
    assert api.upsert_table({"table_id": "t2", "pipeline_id": "sales", "table_name": "raw.t2"}).version == 1
    assert api.delete_table("t2").table_id == "t2"
    assert [t.table_id for t in registry.tables.iter_by_pipeline("sales")] == ["sales.orders"]


@pytest.mark.parametrize("api_name", ["pipelines", "tables"])
def test_config_get_by_id_with_a_projection(registry: Registry, api_name: str) -> None:
    registry.pipelines_write.create({"pipeline_id": "p1", "name": "One", "owner": "data-eng"})
    registry.tables_write.create({"table_id": "p1", "pipeline_id": "p1", "table_name": "db.one"})
    api = getattr(registry, api_name)
    wanted = ["version", "pipeline_id"]
    assert api.get_by_id("p1", projection=wanted, consistent=True) == {"version": 1, "pipeline_id": "p1"}
    assert api.get_by_id("p1", projection=wanted) == api.get_attributes("p1", wanted)
    with pytest.raises(ValidationError, match=r"unknown attribute.*'colour'") as info:
        api.get_by_id("p1", projection=["version", "colour", "write_token"])
    assert info.value.field == "projection"
    assert [e["value"] for e in info.value.errors] == ["colour", "write_token"]
    with pytest.raises(ValidationError, match="at least one"):
        api.get_by_id("p1", projection=[])
    with pytest.raises(ValidationError, match="tz applies to views") as info:
        api.get_by_id("p1", projection=["version"], tz="Europe/Paris")
    assert info.value.field == "tz"
    with pytest.raises(ItemNotFoundError, match="'nope' not found"):
        api.get_by_id("nope", projection=["version"])
    assert api.get_by_id("p1").version == 1  # without a projection: the view, as before


def _start(registry: Registry, run_id: str, pipeline_id: str) -> None:
    registry.runs_write.start(
        {"run_id": run_id, "pipeline_id": pipeline_id, "start_time": datetime(2026, 3, 8, 6, 0, tzinfo=UTC)}
    )


def test_run_get_by_id_without_the_pipeline(registry: Registry) -> None:
    _start(registry, "daily/2026-03-08", "sales")
    view = registry.runs.get_by_id("daily/2026-03-08", consistent=True)
    assert isinstance(view, PipelineRunLogView)
    assert (view.run_id, view.pipeline_id, view.status.value) == ("daily/2026-03-08", "sales", "RUNNING")
    assert registry.runs.get_by_id("daily/2026-03-08", projection=["status", "try_number"], consistent=True) == {
        "status": "RUNNING",
        "try_number": 1,
    }
    assert registry.runs.get_by_id("daily/2026-03-08", "sales", projection=["pipeline_id"]) == {"pipeline_id": "sales"}
    with pytest.raises(ItemNotFoundError, match="run 'daily/2026-03-09' not found") as missing:
        registry.runs.get_by_id("daily/2026-03-09")
    assert missing.value.key == {"run_id": "daily/2026-03-09"}
    with pytest.raises(ItemNotFoundError, match="of pipeline 'other' not found"):
        registry.runs.get_by_id("daily/2026-03-08", "other", projection=["status"])
    with pytest.raises(ValidationError, match="duration_seconds") as info:
        registry.runs.get_by_id("daily/2026-03-08", projection=["duration_seconds"])  # computed, not stored
    assert info.value.field == "projection"


def test_a_run_id_shared_by_several_pipelines_names_them(registry: Registry) -> None:
    _start(registry, "daily/2026-03-08", "sales")
    _start(registry, "daily/2026-03-08", "orders")
    with pytest.raises(ValidationError, match=r"exists in 2 pipelines \('orders', 'sales'\)") as info:
        registry.runs.get_by_id("daily/2026-03-08", consistent=True)
    assert info.value.field == "pipeline_id"
    assert registry.runs.get_by_id("daily/2026-03-08", "orders").pipeline_id == "orders"


def test_dynamodb_config_honours_the_user_timezone_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    """Precedence: the argument > ``DYNAMODB_USER_TIMEZONE`` > UTC (from_env: its environ only)."""
    monkeypatch.setenv("DYNAMODB_USER_TIMEZONE", "Europe/Paris")
    assert DynamoDBConfig().user_timezone == "Europe/Paris"
    assert DynamoDBConfig().tzinfo == ZoneInfo("Europe/Paris")
    assert DynamoDBConfig(user_timezone=None).user_timezone == "Europe/Paris"
    assert DynamoDBConfig(user_timezone="Asia/Tokyo").user_timezone == "Asia/Tokyo"
    assert DynamoDBConfig(user_timezone="UTC").user_timezone == "UTC"  # explicit UTC wins too
    assert DynamoDBConfig.from_env().user_timezone == "Europe/Paris"
    assert DynamoDBConfig.from_env({}).user_timezone == "UTC"  # a given environment is the only one read
    assert DynamoDBConfig.from_env({}, user_timezone="Asia/Tokyo").user_timezone == "Asia/Tokyo"
    monkeypatch.setenv("DYNAMODB_USER_TIMEZONE", "")
    assert DynamoDBConfig().user_timezone == "UTC"
    monkeypatch.delenv("DYNAMODB_USER_TIMEZONE")
    assert DynamoDBConfig().user_timezone == "UTC"
    monkeypatch.setenv("DYNAMODB_USER_TIMEZONE", "Mars/Olympus")
    with pytest.raises(ConfigurationError, match=r"\(user_timezone from DYNAMODB_USER_TIMEZONE\).*Mars/Olympus"):
        DynamoDBConfig()


def test_views_of_a_default_config_show_the_variables_timezone(
    make_registry: Callable[..., Registry], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DYNAMODB_USER_TIMEZONE", "America/New_York")
    registry = make_registry()  # no user_timezone given: the variable's
    _start(registry, "r1", "p1")
    view = registry.runs.get_by_id("r1", consistent=True)
    assert view.start_time.utcoffset() is not None
    assert view.start_time.isoformat() == "2026-03-08T01:00:00-05:00"

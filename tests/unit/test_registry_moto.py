"""Fast paths of the six APIs against moto (the integration tests repeat them on DynamoDB Local)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from moto import mock_aws

from airflow_provider_pipeline_registry.registry import (
    ConflictError,
    DynamoDBConfig,
    ItemNotFoundError,
    Registry,
    RunStatus,
    ValidationError,
)


@pytest.fixture
def registry() -> Iterator[Registry]:
    with mock_aws():
        reg = Registry(DynamoDBConfig(region="us-east-1", table_prefix="unit_", user_timezone="Europe/Paris"))
        assert set(reg.create_tables().values()) == {True}
        yield reg


def test_tables_created_once(registry: Registry) -> None:
    assert set(registry.create_tables().values()) == {False}
    assert set(registry.tables_status().values()) == {"ACTIVE"}


def test_pipeline_config_crud(registry: Registry) -> None:
    created = registry.pipelines_write.create({"pipeline_id": "sales", "name": "Sales", "parameters": {"n": 1}})
    assert created.version == 1
    with pytest.raises(ConflictError, match="already exists"):
        registry.pipelines_write.create({"pipeline_id": "sales", "name": "Again"})
    view = registry.pipelines.get_by_id("sales")
    assert view.display_timezone == "Europe/Paris"
    assert view.created_at.tzinfo == ZoneInfo("Europe/Paris")
    assert view.created_at == created.created_at
    updated = registry.pipelines_write.update("sales", {"owner": "data"}, expected_version=1)
    assert (updated.version, updated.owner, updated.name) == (2, "data", "Sales")
    with pytest.raises(ConflictError, match="version 2, not the expected version 1"):
        registry.pipelines_write.update("sales", {"owner": "x"}, expected_version=1)
    with pytest.raises(ValidationError, match="is not an updatable field"):
        registry.pipelines_write.update("sales", {"version": 9})
    assert registry.pipelines_write.delete("sales", expected_version=2).owner == "data"
    assert registry.pipelines.find_by_id("sales") is None
    with pytest.raises(ItemNotFoundError):
        registry.pipelines.get_by_id("sales")


def test_run_lifecycle(registry: Registry) -> None:
    start = datetime(2026, 5, 1, 12, tzinfo=UTC)
    run = registry.runs_write.start({"run_id": "r1", "pipeline_id": "p", "start_time": start})
    assert run.status is RunStatus.RUNNING
    assert run.is_running is True
    assert [r.run_id for r in registry.runs.list_running()] == ["r1"]
    registry.runs_write.heartbeat("r1", "p", at=start + timedelta(minutes=1), metrics={"rows": 5})
    done = registry.runs_write.finish(
        {"run_id": "r1", "pipeline_id": "p", "status": "SUCCESS", "end_time": start + timedelta(minutes=2)}
    )
    assert done.duration_seconds == 120
    assert done.metrics == {"rows": 5}
    assert done.is_running is None
    assert registry.runs.list_running().items == []
    with pytest.raises(ConflictError, match="already ended as SUCCESS"):
        registry.runs_write.start({"run_id": "r1", "pipeline_id": "p", "start_time": start})
    latest = registry.runs.latest("p")
    assert latest is not None
    assert latest.status is RunStatus.SUCCESS


def test_ttl_is_left_alone_without_retention_and_enabled_with_it(registry: Registry) -> None:
    table = registry.config.table_name("pipeline_run_logs")
    ttl = registry.client.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
    assert ttl["TimeToLiveStatus"] == "DISABLED"  # no retention: create_tables never called the TTL API
    with_retention = Registry(
        DynamoDBConfig(region="us-east-1", table_prefix="ttl_", run_log_retention_days=30), client=registry.client
    )
    with_retention.create_tables()
    ttl = registry.client.describe_time_to_live(TableName=with_retention.config.table_name("pipeline_run_logs"))
    assert ttl["TimeToLiveDescription"]["TimeToLiveStatus"] == "ENABLED"
    assert ttl["TimeToLiveDescription"]["AttributeName"] == "expire_at"


def test_config_writes_keep_their_token_out_of_entities_and_views(registry: Registry) -> None:
    created = registry.pipelines_write.create({"pipeline_id": "tok", "name": "Token"})
    raw = registry.client.get_item(
        TableName=registry.config.table_name("pipeline_config"), Key={"pipeline_id": {"S": "tok"}}
    )
    first_tokens = set(raw["Item"]["write_tokens"]["M"])
    updated = registry.pipelines_write.update("tok", {"owner": "me"})
    raw = registry.client.get_item(
        TableName=registry.config.table_name("pipeline_config"), Key={"pipeline_id": {"S": "tok"}}
    )
    assert len(set(raw["Item"]["write_tokens"]["M"]) - first_tokens) == 1  # every write has its own token
    assert (created.version, updated.version) == (1, 2)
    for shown in (created, updated, registry.pipelines.get_by_id("tok")):
        assert "write_token" not in shown.model_dump()

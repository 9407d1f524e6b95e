"""Pipeline and table config APIs against DynamoDB Local: every public method, locking, races."""

from __future__ import annotations

import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from airflow_provider_pipeline_registry.registry import (
    ConflictError,
    DynamoDBConfig,
    ItemNotFoundError,
    LoadType,
    PipelineConfig,
    Registry,
    TableFormat,
    TableNotFoundError,
    TableRole,
    ValidationError,
)

pytestmark = pytest.mark.integration


def pipeline(pipeline_id: str, **extra: Any) -> dict[str, Any]:
    return {"pipeline_id": pipeline_id, "name": f"Pipeline {pipeline_id}", **extra}


def table(table_id: str, pipeline_id: str, **extra: Any) -> dict[str, Any]:
    return {"table_id": table_id, "pipeline_id": pipeline_id, "table_name": f"db.{table_id}", **extra}


def raw_item(registry: Registry, logical: str, key: dict[str, Any]) -> dict[str, Any]:
    response = registry.client.get_item(
        TableName=registry.config.table_name(logical),  # type: ignore[arg-type]
        Key=key,
        ConsistentRead=True,
    )
    return response["Item"]  # type: ignore[return-value]


# -- create / read ---------------------------------------------------------------------------------
def test_create_and_every_read_of_a_pipeline(registry: Registry) -> None:
    created = registry.pipelines_write.create(
        pipeline("sales", owner="data-eng", spark_conf={"spark.executor.memory": "2g"}, tags=["daily", "pii"])
    )
    assert created.version == 1
    assert created.created_at == created.updated_at
    assert created.created_at.tzinfo is not None

    view = registry.pipelines.get_by_id("sales", consistent=True)
    assert view.name == "Pipeline sales"
    assert view.spark_conf == {"spark.executor.memory": "2g"}
    assert view.tags == ["daily", "pii"]
    assert view.version == 1
    assert view.created_at == created.created_at
    assert registry.pipelines.find_by_id("sales") == view
    assert registry.pipelines.find_by_id("missing") is None
    entity = registry.pipelines.find_entity("sales", consistent=True)
    assert entity == created
    with pytest.raises(ItemNotFoundError, match="'missing' not found") as info:
        registry.pipelines.get_by_id("missing")
    assert info.value.key == {"pipeline_id": "missing"}

    # projection with reserved words ("name", "owner") goes through placeholders
    assert registry.pipelines.get_attributes("sales", ["name", "owner", "version"]) == {
        "name": "Pipeline sales",
        "owner": "data-eng",
        "version": 1,
    }
    with pytest.raises(ItemNotFoundError):
        registry.pipelines.get_attributes("missing", ["name"])

    raw = raw_item(registry, "pipeline_config", {"pipeline_id": {"S": "sales"}})
    assert raw["is_active"] == {"S": "true"}  # a GSI key: stored as a string
    assert raw["created_at"]["S"].endswith("Z")
    assert len(raw["created_at"]["S"]) == 27


def test_create_conflict_reports_stored_version(registry: Registry) -> None:
    registry.pipelines_write.create(pipeline("p"))
    with pytest.raises(ConflictError, match=r"'p' already exists \(version 1\)") as info:
        registry.pipelines_write.create(pipeline("p", owner="other"))
    assert info.value.current is not None
    assert info.value.current["version"] == 1
    assert registry.pipelines.get_by_id("p").owner == "unknown"


def test_bad_input_is_refused_before_dynamodb(registry: Registry) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        (pipeline(""), "pipeline_id"),
        (pipeline("x" * 300), "pipeline_id"),
        (pipeline("p", surprise=1), "surprise"),
        (pipeline("p", parameters={"x": float("nan")}), "parameters"),
        (pipeline("p", parameters={"blob": "x" * 410_000}), "parameters"),
    ]
    for data, field in cases:
        with pytest.raises(ValidationError) as info:
            registry.pipelines_write.create(data)
        assert info.value.field is not None
        assert info.value.field.startswith(field), (data, info.value)
    deep: Any = 1
    for _ in range(32):
        deep = {"d": deep}
    with pytest.raises(ValidationError, match="nesting"):
        registry.pipelines_write.create(pipeline("p", parameters={"deep": deep}))
    assert registry.pipelines.find_by_id("p") is None


def test_nesting_limit_matches_dynamodb_local(registry: Registry) -> None:
    deepest: Any = "leaf"
    for _ in range(30):  # "parameters" + 30 maps + leaf = 32 levels: the most DynamoDB takes
        deepest = {"d": deepest}
    registry.pipelines_write.create(pipeline("deep", parameters={"deep": deepest}))
    stored = registry.pipelines.get_by_id("deep").parameters["deep"]
    assert stored == deepest


def test_get_many_keeps_order_and_skips_missing(registry: Registry) -> None:
    ids = [f"p{i:03d}" for i in range(130)]  # two BatchGetItem calls
    report = registry.pipelines_write.batch_upsert([pipeline(i) for i in ids])
    assert report.ok
    wanted = [ids[5], "nope", ids[129], ids[0], ids[5]]
    assert [v.pipeline_id for v in registry.pipelines.get_many(wanted)] == [ids[5], ids[129], ids[0]]
    assert len(registry.pipelines.get_many(ids)) == 130


# -- update / upsert / delete ----------------------------------------------------------------------
def test_update_changes_only_given_fields_with_optimistic_locking(registry: Registry) -> None:
    registry.pipelines_write.create(pipeline("p", description="first", schedule="@daily"))
    updated = registry.pipelines_write.update("p", {"owner": "team", "description": None}, expected_version=1)
    assert (updated.version, updated.owner, updated.description, updated.schedule) == (2, "team", None, "@daily")
    assert updated.updated_at > updated.created_at
    with pytest.raises(ConflictError, match="at version 2, not the expected version 1") as info:
        registry.pipelines_write.update("p", {"owner": "late"}, expected_version=1)
    assert info.value.current is not None
    assert info.value.current["owner"] == "team"
    unconditional = registry.pipelines_write.update("p", {"is_active": False})
    assert unconditional.version == 3
    raw = raw_item(registry, "pipeline_config", {"pipeline_id": {"S": "p"}})
    assert raw["is_active"] == {"S": "false"}
    assert "description" not in raw

    with pytest.raises(ItemNotFoundError):
        registry.pipelines_write.update("ghost", {"owner": "x"})
    with pytest.raises(ValidationError, match="is not an updatable field") as verr:
        registry.pipelines_write.update("p", {"pipeline_id": "other", "created_at": None})
    assert verr.value.field == "pipeline_id"
    with pytest.raises(ValidationError) as verr:
        registry.pipelines_write.update("p", {"name": ""})
    assert verr.value.field == "name"
    with pytest.raises(ValidationError, match="at least one field"):
        registry.pipelines_write.update("p", {})


def test_upsert_creates_replaces_and_locks(registry: Registry) -> None:
    first = registry.pipelines_write.upsert(pipeline("p", owner="a"))
    assert first.version == 1
    second = registry.pipelines_write.upsert(pipeline("p", owner="b"), expected_version=1)
    assert (second.version, second.owner, second.created_at) == (2, "b", first.created_at)
    with pytest.raises(ConflictError, match="not the expected version 1"):
        registry.pipelines_write.upsert(pipeline("p", owner="c"), expected_version=1)
    with pytest.raises(ConflictError, match="already exists"):
        registry.pipelines_write.upsert(pipeline("p"), expected_version=0)
    fresh = registry.pipelines_write.upsert(pipeline("q"), expected_version=0)
    assert fresh.version == 1
    with pytest.raises(ItemNotFoundError):
        registry.pipelines_write.upsert(pipeline("r"), expected_version=3)


def test_delete(registry: Registry) -> None:
    registry.pipelines_write.create(pipeline("p"))
    registry.pipelines_write.update("p", {"owner": "x"})
    with pytest.raises(ConflictError, match="at version 2"):
        registry.pipelines_write.delete("p", expected_version=1)
    deleted = registry.pipelines_write.delete("p", expected_version=2)
    assert deleted.owner == "x"
    with pytest.raises(ItemNotFoundError):
        registry.pipelines_write.delete("p")


def test_batch_upsert_skips_unchanged_and_advances_versions(registry: Registry) -> None:
    report = registry.pipelines_write.batch_upsert([pipeline("a"), pipeline("b")])
    assert sorted(report.written) == ["a", "b"]
    assert report.ok
    again = registry.pipelines_write.batch_upsert([pipeline("a"), pipeline("b", owner="new")])
    assert again.unchanged == ["a"]
    assert again.written == ["b"]
    b = registry.pipelines.get_by_id("b", consistent=True)
    assert (b.version, b.owner) == (2, "new")
    assert registry.pipelines.get_by_id("a", consistent=True).version == 1
    with pytest.raises(ValidationError, match=r"\[1\]\.name") as info:
        registry.pipelines_write.batch_upsert([pipeline("c"), {"pipeline_id": "d", "name": ""}])
    assert info.value.field == "[1].name"
    assert registry.pipelines.find_by_id("c") is None  # nothing written when any item is invalid
    with pytest.raises(ValidationError, match="duplicate pipeline_id"):
        registry.pipelines_write.batch_upsert([pipeline("c"), pipeline("c")])


# -- lists -----------------------------------------------------------------------------------------
def test_list_and_iter_active_and_all_with_page_tokens(registry: Registry) -> None:
    registry.pipelines_write.batch_upsert(
        [pipeline(f"p{i:02d}", is_active=i % 3 != 0) for i in range(12)]  # p00, p03, p06, p09 inactive
    )
    active = [f"p{i:02d}" for i in range(12) if i % 3 != 0]
    first = registry.pipelines.list_active(limit=5)
    assert [v.pipeline_id for v in first] == active[:5]
    assert first.next_page_token is not None
    second = registry.pipelines.list_active(limit=5, page_token=first.next_page_token)
    assert [v.pipeline_id for v in second] == active[5:]
    assert [v.pipeline_id for v in registry.pipelines.iter_active(page_size=3)] == active

    everything = sorted(v.pipeline_id for v in registry.pipelines.iter_all(page_size=4))
    assert everything == [f"p{i:02d}" for i in range(12)]
    page = registry.pipelines.list_all(limit=7)
    assert len(page) == 7
    rest = registry.pipelines.list_all(limit=100, page_token=page.next_page_token)
    assert len(rest) == 5
    assert rest.next_page_token is None

    with pytest.raises(ValidationError) as info:
        registry.pipelines.list_all(page_token=first.next_page_token)  # a token of another list
    assert info.value.field == "page_token"
    with pytest.raises(ValidationError) as info:
        registry.pipelines.list_active(page_token="garbage!")
    assert info.value.field == "page_token"
    with pytest.raises(ValidationError) as info:
        registry.pipelines.list_active(limit=0)
    assert info.value.field == "limit"


def test_table_config_apis(registry: Registry) -> None:
    rows = [table(f"t{i:02d}", "sales", is_active=i != 3) for i in range(8)] + [table("other", "hr")]
    assert registry.tables_write.batch_upsert(rows).ok
    created = registry.tables_write.create(
        table(
            "orders",
            "sales",
            role="target",
            format="delta",
            load_type="merge",
            location="s3://bucket/orders",
            watermark_column="updated_at",
            partition_columns=["dt"],
            primary_keys=["id"],
            options={"mergeSchema": "true"},
        )
    )
    assert (created.role, created.format, created.load_type) == (TableRole.TARGET, TableFormat.DELTA, LoadType.MERGE)
    view = registry.tables.get_by_id("orders")
    assert view.format is TableFormat.DELTA
    assert view.options == {"mergeSchema": "true"}
    raw = raw_item(registry, "table_config", {"table_id": {"S": "orders"}})
    assert raw["format"] == {"S": "delta"}
    assert raw["is_active"] == {"BOOL": True}  # not an index key here: a native BOOL

    sales = [v.table_id for v in registry.tables.iter_by_pipeline("sales", page_size=4)]
    assert sales == sorted([f"t{i:02d}" for i in range(8)] + ["orders"])
    page = registry.tables.list_by_pipeline("sales", active_only=True, limit=4)
    assert [v.table_id for v in page] == ["orders", "t00", "t01", "t02"]
    rest = registry.tables.list_by_pipeline("sales", active_only=True, limit=50, page_token=page.next_page_token)
    assert [v.table_id for v in rest] == ["t04", "t05", "t06", "t07"]
    with pytest.raises(ValidationError):
        registry.tables.list_by_pipeline("sales", active_only=False, page_token=page.next_page_token)
    assert [v.table_id for v in registry.tables.list_by_pipeline("hr")] == ["other"]

    moved = registry.tables_write.update("t00", {"pipeline_id": "hr", "watermark_value": "2026-01-01"})
    assert moved.version == 2
    assert {v.table_id for v in registry.tables.iter_by_pipeline("hr")} == {"other", "t00"}
    upserted = registry.tables_write.upsert(table("t01", "sales", format="iceberg"), expected_version=1)
    assert upserted.format is TableFormat.ICEBERG
    with pytest.raises(ValidationError) as info:
        registry.tables_write.create(table("bad", "sales", format="excel"))
    assert info.value.field == "format"
    assert registry.tables.get_attributes("t01", ["format", "table_name"]) == {
        "format": "iceberg",
        "table_name": "db.t01",
    }
    assert [v.table_id for v in registry.tables.get_many(["t01", "orders"])] == ["t01", "orders"]
    assert registry.tables.find_by_id("gone") is None
    assert registry.tables_write.delete("t01").table_id == "t01"
    assert len(list(registry.tables.iter_all())) == 9


# -- storage contract ------------------------------------------------------------------------------
def test_round_trip_of_every_field_type(registry: Registry) -> None:
    parameters = {
        "int": 7,
        "negative": -3,
        "float": 0.25,
        "big": 12345678901234567890123456789012345678,
        "bool": False,
        "null": None,
        "text": "héllo ✓",
        "list": [1, "two", [3.5, True], {"k": "v"}],
        "map": {"nested": {"deeper": {"deepest": [None, 0]}}},
    }
    created = registry.pipelines_write.create(
        pipeline(
            "types",
            parameters=parameters,
            spark_args=["--date", "2026-01-01"],
            spark_conf={"a": "b"},
            is_active=False,
            description="",
        )
    )
    view = registry.pipelines.get_by_id("types", consistent=True)
    assert view.parameters == parameters
    assert isinstance(view.parameters["big"], int)
    assert view.spark_args == ["--date", "2026-01-01"]
    assert view.is_active is False
    assert view.description == ""
    assert view.created_at == created.created_at  # microseconds survive
    entity = registry.pipelines.find_entity("types", consistent=True)
    assert entity is not None
    assert entity.model_dump() == created.model_dump()
    with pytest.raises(ValidationError):
        registry.pipelines_write.create(pipeline("dec", parameters={"d": Decimal("1.5")}))


def test_newer_writer_attributes_are_ignored_on_read_and_kept_by_writes(registry: Registry) -> None:
    registry.pipelines_write.create(pipeline("p"))
    registry.client.update_item(
        TableName=registry.config.table_name("pipeline_config"),
        Key={"pipeline_id": {"S": "p"}},
        UpdateExpression="SET #f = :v, #g = :g",
        ExpressionAttributeNames={"#f": "future_field", "#g": "future_map"},
        ExpressionAttributeValues={":v": {"S": "from v2"}, ":g": {"M": {"x": {"N": "1"}}}},
    )
    view = registry.pipelines.get_by_id("p", consistent=True)
    assert not hasattr(view, "future_field")
    assert view.name == "Pipeline p"
    registry.pipelines_write.upsert(pipeline("p", owner="upsert"))
    registry.pipelines_write.update("p", {"owner": "update"})
    registry.pipelines_write.batch_upsert([pipeline("p", owner="batch")])
    raw = raw_item(registry, "pipeline_config", {"pipeline_id": {"S": "p"}})
    assert raw["future_field"] == {"S": "from v2"}
    assert raw["future_map"] == {"M": {"x": {"N": "1"}}}
    assert raw["owner"] == {"S": "batch"}
    assert raw["version"] == {"N": "4"}


# -- concurrency -----------------------------------------------------------------------------------
def race(workers: int, action: Callable[[int], Any]) -> tuple[list[Any], list[BaseException]]:
    barrier = threading.Barrier(workers)
    results: list[Any] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run(index: int) -> None:
        barrier.wait()
        try:
            value = action(index)
        except BaseException as exc:
            with lock:
                errors.append(exc)
        else:
            with lock:
                results.append(value)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, errors


def test_twenty_threads_creating_the_same_item_exactly_one_wins(registry: Registry) -> None:
    winners, errors = race(20, lambda i: registry.pipelines_write.create(pipeline("hot", owner=f"w{i}")))
    assert len(winners) == 1
    assert len(errors) == 19
    assert all(isinstance(e, ConflictError) for e in errors), errors
    stored = registry.pipelines.get_by_id("hot", consistent=True)
    assert stored.owner == winners[0].owner
    assert stored.version == 1


@pytest.mark.needs("atomic-concurrent-updates")
def test_twenty_threads_updating_the_same_version_exactly_one_wins(registry: Registry) -> None:
    registry.pipelines_write.create(pipeline("hot"))
    winners, errors = race(20, lambda i: registry.pipelines_write.update("hot", {"owner": f"w{i}"}, expected_version=1))
    assert len(winners) == 1
    assert len(errors) == 19
    assert all(isinstance(e, ConflictError) and "not the expected version 1" in str(e) for e in errors), errors
    stored = registry.pipelines.get_by_id("hot", consistent=True)
    assert (stored.version, stored.owner) == (2, winners[0].owner)


# -- tables ----------------------------------------------------------------------------------------
def test_missing_table_names_the_table(dynamodb_endpoint: str, unique_prefix: str) -> None:
    registry = Registry(DynamoDBConfig(endpoint_url=dynamodb_endpoint, table_prefix=unique_prefix))
    with pytest.raises(TableNotFoundError) as info:
        registry.pipelines.get_by_id("p")
    message = str(info.value)
    assert f"{unique_prefix}pipeline_config" in message
    assert "create_tables" in message
    assert set(registry.tables_status().values()) == {None}


def test_create_tables_is_idempotent(registry: Registry) -> None:
    registry.pipelines_write.create(pipeline("kept"))
    assert set(registry.create_tables().values()) == {False}
    assert registry.pipelines.get_by_id("kept").pipeline_id == "kept"
    status = registry.tables_status()
    assert sorted(status) == sorted(
        registry.config.table_name(t)
        for t in ("pipeline_config", "table_config", "pipeline_run_logs", "table_watermarks")
    )
    assert set(status.values()) == {"ACTIVE"}
    description = registry.client.describe_table(TableName=registry.config.table_name("pipeline_run_logs"))["Table"]
    assert {g["IndexName"] for g in description["GlobalSecondaryIndexes"]} == {
        "pipeline_runs_index",
        "running_runs_index",
    }
    assert isinstance(PipelineConfig.Meta, type)

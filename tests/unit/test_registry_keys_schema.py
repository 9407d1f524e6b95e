"""Model metadata from ``Meta``, keys, GSI key conditions, page tokens and table definitions."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import Field, create_model

from airflow_provider_pipeline_registry.registry import (
    DynamoDBConfig,
    GlobalSecondaryIndex,
    PipelineConfig,
    PipelineRunLog,
    RegistryModel,
    TableConfig,
    ValidationError,
    build_gsi_key_condition,
    build_model_key,
    extract_model_metadata,
    table_definition,
)
from airflow_provider_pipeline_registry.registry.keys import decode_page_token, encode_page_token


class Widget(RegistryModel):
    class Meta:
        table = "table_config"
        partition_key = "widget_id"
        sort_key = "kind"
        gsis = (
            GlobalSecondaryIndex("by_flag", partition_key="flagged", sort_key="made_at"),
            GlobalSecondaryIndex("by_size", partition_key="kind", sort_key="size", projection="KEYS_ONLY"),
        )

    widget_id: str
    kind: str
    flagged: bool = False
    made_at: datetime
    size: int = Field(default=0)
    note: bool = False


def test_extract_model_metadata_reads_meta() -> None:
    meta = extract_model_metadata(Widget)
    assert meta.table == "table_config"
    assert meta.key_names == ("widget_id", "kind")
    assert meta.index("by_flag").sort_key == "made_at"
    assert meta.index_key_attributes == frozenset({"widget_id", "kind", "flagged", "made_at", "size"})
    assert meta.attribute_types == {"widget_id": "S", "kind": "S", "flagged": "S", "made_at": "S", "size": "N"}
    assert extract_model_metadata(Widget) is meta  # cached
    with pytest.raises(ValidationError, match="no index"):
        meta.index("nope")


def test_meta_naming_a_missing_field_is_a_type_error() -> None:
    class Broken(RegistryModel):
        class Meta:
            table = "table_config"
            partition_key = "missing"

        other: str

    with pytest.raises(TypeError, match="missing"):
        extract_model_metadata(Broken)


@pytest.mark.parametrize(
    ("projection", "names", "message"),
    [
        ("INCLUDE", (), "go with \\(only\\) INCLUDE"),
        ("ALL", ("other",), "go with \\(only\\) INCLUDE"),
        ("INCLUDE", ("nope",), "projects 'nope', which is not a field"),
        ("INCLUDE", tuple(f"f{i}" for i in range(101)), "projects 101 attributes"),
    ],
)
def test_an_index_projection_is_checked(projection: Any, names: tuple[str, ...], message: str) -> None:
    fields: dict[str, Any] = {f"f{i}": (str, "") for i in range(101)}
    model = create_model("Projected", __base__=RegistryModel, other=(str, ""), item_key=(str, ""), **fields)
    model.Meta = type(  # type: ignore[attr-defined]
        "Meta",
        (),
        {
            "table": "table_config",
            "partition_key": "item_key",
            "gsis": (GlobalSecondaryIndex("by_other", "other", projection=projection, non_key_attributes=names),),
        },
    )
    with pytest.raises(TypeError, match=message):
        extract_model_metadata(model)


def test_booleans_used_as_index_keys_are_strings_elsewhere_bool() -> None:
    widget = Widget(widget_id="w", kind="k", flagged=True, made_at=datetime(2026, 1, 1, tzinfo=UTC), note=True)
    item = widget.to_dynamodb_item()
    assert item["flagged"] == {"S": "true"}
    assert item["note"] == {"BOOL": True}
    assert item["made_at"] == {"S": "2026-01-01T00:00:00.000000Z"}
    assert item["size"] == {"N": "0"}
    back = Widget.from_dynamodb_item({**item, "added_by_newer_writer": {"S": "x"}})
    assert back == widget


def test_from_dynamodb_item_reports_bad_stored_data() -> None:
    with pytest.raises(ValidationError, match="stored Widget") as info:
        Widget.from_dynamodb_item({"widget_id": {"S": "w"}, "kind": {"S": "k"}})
    assert info.value.field == "made_at"


def test_build_model_key() -> None:
    assert build_model_key(PipelineConfig, pipeline_id="p1") == {"pipeline_id": {"S": "p1"}}
    assert build_model_key(PipelineRunLog, run_id="r", pipeline_id="p") == {
        "run_id": {"S": "r"},
        "pipeline_id": {"S": "p"},
    }
    with pytest.raises(ValidationError, match="required") as info:
        build_model_key(PipelineRunLog, run_id="r")
    assert info.value.field == "pipeline_id"
    with pytest.raises(ValidationError, match="not key attributes"):
        build_model_key(PipelineConfig, pipeline_id="p", name="x")
    with pytest.raises(ValidationError, match="must not be empty"):
        build_model_key(PipelineConfig, pipeline_id="")
    with pytest.raises(ValidationError, match="must be a string"):
        build_model_key(PipelineConfig, pipeline_id=5)


def test_build_gsi_key_condition() -> None:
    condition = build_gsi_key_condition(
        PipelineRunLog, "pipeline_runs_index", "p1", sort_op="between", sort_values=("a", "b")
    )
    assert (condition.partition_name, condition.sort_name, condition.index_name) == (
        "pipeline_id",
        "start_time",
        "pipeline_runs_index",
    )
    plain = build_gsi_key_condition(PipelineConfig, "active_pipelines_index", "true")
    assert plain.sort_op is None
    assert plain.sort_name is None
    with pytest.raises(ValidationError, match="takes 2 value"):
        build_gsi_key_condition(PipelineRunLog, "pipeline_runs_index", "p", sort_op="between", sort_values=("a",))
    with pytest.raises(ValidationError, match="no index"):
        build_gsi_key_condition(PipelineRunLog, "missing_index", "p")
    with pytest.raises(ValidationError, match="must not be empty"):
        build_gsi_key_condition(PipelineRunLog, "pipeline_runs_index", "")


def test_page_tokens_are_opaque_url_safe_and_scoped() -> None:
    key = {"pipeline_id": {"S": "p/1+2=3 ä"}, "start_time": {"S": "2026-01-01T00:00:00.000000Z"}}
    token = encode_page_token(key, scope="runs:p")
    assert token is not None
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert "pipeline_id" not in token
    assert decode_page_token(token, scope="runs:p") == key
    assert encode_page_token(None, scope="x") is None
    assert decode_page_token(None, scope="x") is None
    assert decode_page_token("", scope="x") is None


@pytest.mark.parametrize(
    "token",
    [
        "not a token!",
        "abc",
        base64.urlsafe_b64encode(b"[1, 2]").decode(),
        base64.urlsafe_b64encode(json.dumps({"s": "runs:p", "k": "str"}).encode()).decode(),
    ],
)
def test_malformed_page_token_is_a_validation_error(token: str) -> None:
    with pytest.raises(ValidationError, match="page_token") as info:
        decode_page_token(token, scope="runs:p")
    assert info.value.field == "page_token"


def test_foreign_page_token_is_refused() -> None:
    token = encode_page_token({"pipeline_id": {"S": "p"}}, scope="pipeline_config:all")
    with pytest.raises(ValidationError, match="another list") as info:
        decode_page_token(token, scope="runs:p")
    assert info.value.field == "page_token"


def test_table_definitions_from_meta() -> None:
    config = DynamoDBConfig(environment="dev")
    pipelines = table_definition(PipelineConfig, config)
    assert pipelines["TableName"] == "dev_pipeline_config"
    assert pipelines["KeySchema"] == [{"AttributeName": "pipeline_id", "KeyType": "HASH"}]
    assert {"AttributeName": "is_active", "AttributeType": "S"} in pipelines["AttributeDefinitions"]
    assert pipelines["BillingMode"] == "PAY_PER_REQUEST"
    (active,) = pipelines["GlobalSecondaryIndexes"]
    assert active["IndexName"] == "active_pipelines_index"
    assert active["KeySchema"][0] == {"AttributeName": "is_active", "KeyType": "HASH"}

    runs = table_definition(PipelineRunLog, config)
    assert runs["KeySchema"] == [
        {"AttributeName": "run_id", "KeyType": "HASH"},
        {"AttributeName": "pipeline_id", "KeyType": "RANGE"},
    ]
    types = {d["AttributeName"]: d["AttributeType"] for d in runs["AttributeDefinitions"]}
    assert types == {"run_id": "S", "pipeline_id": "S", "start_time": "S", "is_running": "S"}
    assert {g["IndexName"] for g in runs["GlobalSecondaryIndexes"]} == {"pipeline_runs_index", "running_runs_index"}
    # only what a start or an end writes: a heartbeat or a claim changes no index entry
    for index in runs["GlobalSecondaryIndexes"]:
        assert index["Projection"] == {
            "ProjectionType": "INCLUDE",
            "NonKeyAttributes": ["status", "end_time", "error_type"],
        }
    hot = {"heartbeat_at", "updated_at", "metrics", "arguments", "attempt_id", "attempt_tokens", "attempt_claimed"}
    assert not hot & set(runs["GlobalSecondaryIndexes"][0]["Projection"]["NonKeyAttributes"])
    assert extract_model_metadata(PipelineRunLog).ttl_attribute == "expire_at"

    tables = table_definition(TableConfig, config)
    assert tables["GlobalSecondaryIndexes"][0]["KeySchema"] == [
        {"AttributeName": "pipeline_id", "KeyType": "HASH"},
        {"AttributeName": "table_id", "KeyType": "RANGE"},
    ]
    widget = table_definition(Widget, config)
    by_size = next(g for g in widget["GlobalSecondaryIndexes"] if g["IndexName"] == "by_size")
    assert by_size["Projection"] == {"ProjectionType": "KEYS_ONLY"}

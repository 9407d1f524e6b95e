"""URI rules: a table's location -> Airflow asset URI and OpenLineage namespace/name (registry core)."""

from __future__ import annotations

import pytest

from airflow_provider_pipeline_registry.registry.errors import ValidationError
from airflow_provider_pipeline_registry.registry.lineage_names import (
    LineageName,
    asset_alias_name,
    lineage_name,
    table_is_active,
    table_lineage_name,
    table_role,
)

RULES = [
    # (location, asset URI, OpenLineage namespace, OpenLineage name)
    ("s3://lake/curated/sales_by_region", "s3://lake/curated/sales_by_region", "s3://lake", "curated/sales_by_region"),
    ("s3://lake/curated/sales_by_region/", "s3://lake/curated/sales_by_region", "s3://lake", "curated/sales_by_region"),
    ("s3a://lake/raw//orders/", "s3://lake/raw/orders", "s3://lake", "raw/orders"),
    ("s3n://lake/raw/orders", "s3://lake/raw/orders", "s3://lake", "raw/orders"),
    ("S3://Lake/raw/Orders?versionId=3#frag", "s3://lake/raw/Orders", "s3://lake", "raw/Orders"),
    ("s3://lake", "s3://lake/", "s3://lake", "/"),
    ("gs://bucket/warehouse/t", "gs://bucket/warehouse/t", "gs://bucket", "warehouse/t"),
    ("gcs://bucket/warehouse/t", "gs://bucket/warehouse/t", "gs://bucket", "warehouse/t"),
    (
        "abfss://box@acct.dfs.core.windows.net/lake/t/",
        "abfss://box@acct.dfs.core.windows.net/lake/t",
        "abfss://box@acct.dfs.core.windows.net",
        "lake/t",
    ),
    (
        "wasbs://box@acct.blob.core.windows.net/lake/t",
        "wasbs://box@acct.blob.core.windows.net/lake/t",
        "wasbs://box@acct.blob.core.windows.net",
        "lake/t",
    ),
    ("hdfs://namenode:8020/warehouse/t/", "hdfs://namenode:8020/warehouse/t", "hdfs://namenode:8020", "/warehouse/t"),
    ("file:///data/curated/t/", "file:///data/curated/t", "file", "/data/curated/t"),
    ("file://localhost/data/t", "file:///data/t", "file", "/data/t"),
    ("file://nas01/data/t", "file://nas01/data/t", "file://nas01", "/data/t"),
    ("/data/curated/t", "file:///data/curated/t", "file", "/data/curated/t"),
    ("/data//curated/t/", "file:///data/curated/t", "file", "/data/curated/t"),
    ("C:\\data\\t", "file:///C:/data/t", "file", "/C:/data/t"),
    ("jdbc-like://db.host:5432/sales", "jdbc-like://db.host:5432/sales", "jdbc-like://db.host:5432", "/sales"),
    ("hdfs://user:s3cret@namenode:8020/t", "hdfs://user@namenode:8020/t", "hdfs://user@namenode:8020", "/t"),
]


@pytest.mark.parametrize(("location", "uri", "namespace", "name"), RULES)
def test_location_rules(location: str, uri: str, namespace: str, name: str) -> None:
    assert lineage_name(location, table_id="db.t") == LineageName(uri=uri, namespace=namespace, name=name)


@pytest.mark.parametrize("location", [None, "", "   ", "relative/path", "data/t", "mailto:someone"])
def test_no_usable_location_gets_the_registry_uri(location: str | None) -> None:
    name = lineage_name(location, table_id="sales_daily.orders")
    assert name == LineageName(
        uri="pipeline-registry://table/sales_daily.orders", namespace="pipeline-registry", name="sales_daily.orders"
    )
    assert name.is_registry_fallback


def test_registry_uri_percent_encodes_the_separators_a_table_id_may_hold() -> None:
    name = lineage_name(None, table_id="raw/sales:eu@v1+x=y")
    assert name.uri == "pipeline-registry://table/raw%2Fsales%3Aeu%40v1%2Bx%3Dy"
    assert name.name == "raw/sales:eu@v1+x=y"


def test_a_password_never_reaches_a_name() -> None:
    name = lineage_name("s3://key:topsecret@lake/t", table_id="t")
    assert "topsecret" not in name.uri + name.namespace + name.name


def test_partition_columns_do_not_change_the_name() -> None:
    base = {"table_id": "db.t", "location": "s3://lake/curated/t", "role": "target"}
    partitioned = {**base, "partition_columns": ["day", "region"]}
    assert table_lineage_name(partitioned) == table_lineage_name(base)
    assert table_lineage_name(partitioned).uri == "s3://lake/curated/t"


def test_table_models_and_mappings_are_named_alike() -> None:
    from datetime import UTC, datetime

    from airflow_provider_pipeline_registry.registry.table_config.models import TableConfig

    now = datetime(2026, 1, 1, tzinfo=UTC)
    model = TableConfig(
        table_id="db.t",
        pipeline_id="p",
        table_name="t",
        role="target",
        location="gs://b/t",
        partition_columns=["day"],
        version=1,
        created_at=now,
        updated_at=now,
    )
    assert table_lineage_name(model) == table_lineage_name({"table_id": "db.t", "location": "gs://b/t"})
    assert table_role(model) == "target"
    assert table_is_active(model) is True


def test_defaults_and_flags_of_mappings() -> None:
    assert table_role({}) == "source"
    assert table_is_active({}) is True
    assert table_is_active({"is_active": False}) is False
    assert table_is_active({"is_active": "false"}) is False


def test_a_table_without_id_is_a_validation_error_naming_the_field() -> None:
    with pytest.raises(ValidationError) as info:
        table_lineage_name({"location": "s3://lake/t"})
    assert info.value.field == "table_id"


def test_alias_name() -> None:
    assert asset_alias_name("sales_daily") == "pipeline-registry:sales_daily"

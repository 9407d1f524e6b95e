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

#: OpenLineage's reference naming: the expected namespace/name of each case are those of the Java
#: client's own tests (OpenLineage/OpenLineage, commit 8f02abfb7a252783b95df79f443edb13959bf52c,
#: client/java/src/test/java/io/openlineage/client/utils/filesystem/FilesystemDatasetUtilsTestFor<X>.java,
#: ``testFromLocation*``), i.e. what Spark's OpenLineage integration (``PathUtils.fromURI`` ->
#: ``FilesystemDatasetUtils.fromLocation``) names the same path.
JAVA_REFERENCE = [
    # (location, OpenLineage namespace, OpenLineage name)  -- ForS3
    ("s3://bucket", "s3://bucket", "/"),
    ("s3://bucket/warehouse", "s3://bucket", "warehouse"),
    ("s3://bucket/warehouse/location/", "s3://bucket", "warehouse/location"),
    ("s3a://bucket/warehouse/location/", "s3://bucket", "warehouse/location"),
    ("s3n://bucket/warehouse/location/", "s3://bucket", "warehouse/location"),
    # ForGCS
    ("gs://bucket", "gs://bucket", "/"),
    ("gs://bucket/warehouse/location/", "gs://bucket", "warehouse/location"),
    # ForABFSS (testFromLocation, testFromLocationWithDifferentProtocol)
    ("abfss://container@account.dfs.core.windows.net", "abfss://container@account.dfs.core.windows.net", "/"),
    (
        "abfss://container@account.dfs.core.windows.net/warehouse/location/",
        "abfss://container@account.dfs.core.windows.net",
        "warehouse/location",
    ),
    (
        "abfs://container@account.dfs.core.windows.net/warehouse",
        "abfss://container@account.dfs.core.windows.net",
        "warehouse",
    ),
    # ForWASBS
    ("wasbs://container@bucket", "wasbs://container@bucket", "/"),
    ("wasbs://container@bucket/warehouse/location/", "wasbs://container@bucket", "warehouse/location"),
    ("wasb://container@bucket/warehouse", "wasbs://container@bucket", "warehouse"),
    # ForHDFS
    ("hdfs://namenode:8020", "hdfs://namenode:8020", "/"),
    ("hdfs://namenode:8020/warehouse/location/", "hdfs://namenode:8020", "/warehouse/location"),
    # ForLocal
    ("/", "file", "/"),
    ("file:/warehouse/location", "file", "/warehouse/location"),
    ("file:/warehouse/location/", "file", "/warehouse/location"),
    ("file:///warehouse/location", "file", "/warehouse/location"),
    ("/warehouse/location", "file", "/warehouse/location"),
    # ForDBFS
    ("dbfs:/warehouse/location", "dbfs", "/warehouse/location"),
    ("dbfs:/warehouse/location/", "dbfs", "/warehouse/location"),
    ("dbfs:///warehouse/location", "dbfs", "/warehouse/location"),
]


@pytest.mark.parametrize(("location", "namespace", "name"), JAVA_REFERENCE)
def test_dataset_names_are_the_openlineage_java_clients(location: str, namespace: str, name: str) -> None:
    named = lineage_name(location, table_id="db.t")
    assert (named.namespace, named.name) == (namespace, name)


#: userinfo in a location: never in a namespace, a name or an asset URI (AWS secret keys hold
#: ``/`` and ``+``; an Azure container is not a user and stays)
USERINFO = [
    # (location, asset URI, OpenLineage namespace, OpenLineage name)
    (
        "s3://AKIAIOSFODNN7EXAMPLE:wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY@bucket/key",
        "s3://bucket/key",
        "s3://bucket",
        "key",
    ),
    ("s3a://AKIAIOSFODNN7EXAMPLE@bucket/raw/t/", "s3://bucket/raw/t", "s3://bucket", "raw/t"),
    (
        "s3a://AKIAIOSFODNN7EXAMPLE:wJalrXUtnFEMI/K7MDENG+bPxRfiCY@bucket/raw/t",
        "s3://bucket/raw/t",
        "s3://bucket",
        "raw/t",
    ),
    ("s3://AKIAIOSFODNN7EXAMPLE:s3cret@bucket/k@v1/t", "s3://bucket/k@v1/t", "s3://bucket", "k@v1/t"),
    ("gs://user:s3cret@bucket/w/t", "gs://bucket/w/t", "gs://bucket", "w/t"),
    ("hdfs://user:s3cret@namenode:8020/t", "hdfs://namenode:8020/t", "hdfs://namenode:8020", "/t"),
    ("hdfs://hive@namenode:8020/t", "hdfs://namenode:8020/t", "hdfs://namenode:8020", "/t"),
    ("file://user:s3cret@nas01/data/t", "file://nas01/data/t", "file", "/data/t"),
    ("dbfs://token:dapi123@workspace/mnt/t", "dbfs://workspace/mnt/t", "dbfs://workspace", "/mnt/t"),
    (
        "abfss://box:s3cret@acct.dfs.core.windows.net/w/t",
        "abfss://box@acct.dfs.core.windows.net/w/t",
        "abfss://box@acct.dfs.core.windows.net",
        "w/t",
    ),
    (
        "jdbc-like://admin:s3cret@db.host:5432/sales",
        "jdbc-like://db.host:5432/sales",
        "jdbc-like://db.host:5432",
        "/sales",
    ),
]


@pytest.mark.parametrize(("location", "uri", "namespace", "name"), USERINFO)
def test_userinfo_never_reaches_a_name_or_an_asset_uri(location: str, uri: str, namespace: str, name: str) -> None:
    named = lineage_name(location, table_id="db.t")
    assert named == LineageName(uri=uri, namespace=namespace, name=name)
    for secret in ("AKIA", "wJalr", "s3cret", "dapi123", "admin", "user", "hive", "token"):
        assert secret not in named.uri + named.namespace + named.name


RULES = [
    # (location, asset URI, OpenLineage namespace, OpenLineage name)
    ("s3://lake/curated/sales_by_region", "s3://lake/curated/sales_by_region", "s3://lake", "curated/sales_by_region"),
    ("s3://lake/curated/sales_by_region/", "s3://lake/curated/sales_by_region", "s3://lake", "curated/sales_by_region"),
    ("s3a://lake/raw//orders/", "s3://lake/raw/orders", "s3://lake", "raw/orders"),
    ("s3n://lake/raw/orders", "s3://lake/raw/orders", "s3://lake", "raw/orders"),
    ("S3://Lake/raw/Orders?versionId=3#frag", "s3://lake/raw/Orders", "s3://lake", "raw/Orders"),
    ("s3://lake", "s3://lake/", "s3://lake", "/"),
    ("s3://lake/raw/my%20orders", "s3://lake/raw/my%20orders", "s3://lake", "raw/my orders"),  # Java: getPath() decodes
    ("gs://bucket/warehouse/t", "gs://bucket/warehouse/t", "gs://bucket", "warehouse/t"),
    ("gcs://bucket/warehouse/t", "gs://bucket/warehouse/t", "gs://bucket", "warehouse/t"),
    (
        "abfss://box@acct.dfs.core.windows.net/lake/t/",
        "abfss://box@acct.dfs.core.windows.net/lake/t",
        "abfss://box@acct.dfs.core.windows.net",
        "lake/t",
    ),
    (
        "abfs://box@acct.dfs.core.windows.net/lake/t",
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
    (
        "wasb://box@acct.blob.core.windows.net/lake/t",
        "wasbs://box@acct.blob.core.windows.net/lake/t",
        "wasbs://box@acct.blob.core.windows.net",
        "lake/t",
    ),
    ("hdfs://namenode:8020/warehouse/t/", "hdfs://namenode:8020/warehouse/t", "hdfs://namenode:8020", "/warehouse/t"),
    ("hdfs:///warehouse/t", "hdfs:/warehouse/t", "hdfs", "/warehouse/t"),
    ("file:///data/curated/t/", "file:///data/curated/t", "file", "/data/curated/t"),
    ("file:/data/curated/t", "file:///data/curated/t", "file", "/data/curated/t"),
    ("file://localhost/data/t", "file:///data/t", "file", "/data/t"),
    ("file://nas01/data/t", "file://nas01/data/t", "file", "/data/t"),
    ("/data/curated/t", "file:///data/curated/t", "file", "/data/curated/t"),
    ("/data//curated/t/", "file:///data/curated/t", "file", "/data/curated/t"),
    ("C:\\data\\t", "file:///C:/data/t", "file", "/C:/data/t"),
    ("dbfs:/mnt/lake/t/", "dbfs:/mnt/lake/t", "dbfs", "/mnt/lake/t"),
    ("dbfs:///mnt/lake/t", "dbfs:/mnt/lake/t", "dbfs", "/mnt/lake/t"),
    ("jdbc-like://db.host:5432/sales", "jdbc-like://db.host:5432/sales", "jdbc-like://db.host:5432", "/sales"),
    *USERINFO,
]


@pytest.mark.parametrize(("location", "uri", "namespace", "name"), RULES)
def test_location_rules(location: str, uri: str, namespace: str, name: str) -> None:
    assert lineage_name(location, table_id="db.t") == LineageName(uri=uri, namespace=namespace, name=name)


@pytest.mark.parametrize(
    "location", [None, "", "   ", "relative/path", "data/t", "mailto:someone", "file:data/t", "s3:///key"]
)
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

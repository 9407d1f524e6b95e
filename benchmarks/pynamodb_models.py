"""PynamoDB models equivalent to the registry's run-log and table-config items.

They read and write the same stored form (same attribute names, the same fixed-width UTC
datetime strings, ``'true'`` for the sparse running index), so every variant in a benchmark does
the same work on the same items.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

STORAGE_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


class IsoUtcAttribute(UnicodeAttribute):
    """Datetimes stored like the registry stores them: ``2026-03-08T06:00:00.123456Z``."""

    def serialize(self, value: datetime) -> str:  # type: ignore[override]
        return value.astimezone(UTC).strftime(STORAGE_FORMAT)

    def deserialize(self, value: str) -> datetime:  # type: ignore[override]
        return datetime.strptime(value, STORAGE_FORMAT).replace(tzinfo=UTC)


def make_models(*, host: str, region: str, run_logs_table: str, table_config_table: str) -> tuple[type[Any], type[Any]]:
    """``(RunLogModel, TableConfigModel)`` bound to ``host`` with our client's timeouts and no retries."""

    class _Meta:
        host: str
        region: str
        connect_timeout_seconds = 5
        read_timeout_seconds = 30
        max_retry_attempts = 0
        max_pool_connections = 32
        aws_access_key_id = "testing"
        aws_secret_access_key = "testing"

    connection = {"host": host, "region": region}

    class PipelineRunsIndex(GlobalSecondaryIndex[Any]):
        class Meta:
            index_name = "pipeline_runs_index"
            projection = AllProjection()

        pipeline_id = UnicodeAttribute(hash_key=True)
        start_time = IsoUtcAttribute(range_key=True)

    class RunLogModel(Model):
        class Meta(_Meta):
            table_name = run_logs_table
            host = connection["host"]
            region = connection["region"]

        run_id = UnicodeAttribute(hash_key=True)
        pipeline_id = UnicodeAttribute(range_key=True)
        status = UnicodeAttribute()
        try_number = NumberAttribute(default=1)
        start_time = IsoUtcAttribute()
        end_time = IsoUtcAttribute(null=True)
        heartbeat_at = IsoUtcAttribute(null=True)
        dag_id = UnicodeAttribute(null=True)
        dag_run_id = UnicodeAttribute(null=True)
        task_id = UnicodeAttribute(null=True)
        map_index = NumberAttribute(null=True)
        logical_date = IsoUtcAttribute(null=True)
        spark_application_id = UnicodeAttribute(null=True)
        spark_application_name = UnicodeAttribute(null=True)
        spark_ui_url = UnicodeAttribute(null=True)
        metrics = MapAttribute[str, Any](default=dict)
        error_type = UnicodeAttribute(null=True)
        error_message = UnicodeAttribute(null=True)
        is_running = UnicodeAttribute(null=True)  # 'true' while RUNNING (sparse index key)
        expire_at = NumberAttribute(null=True)
        updated_at = IsoUtcAttribute(null=True)
        #: the bounded attempt-token history every run item carries (issue #18): the same attributes
        attempt_tokens = ListAttribute[str](of=UnicodeAttribute, default=list)
        #: the job arguments a run records (issue 24): the same attributes
        arguments = MapAttribute[str, Any](default=dict)

        pipeline_runs_index = PipelineRunsIndex()

    class TableConfigModel(Model):
        class Meta(_Meta):
            table_name = table_config_table
            host = connection["host"]
            region = connection["region"]

        table_id = UnicodeAttribute(hash_key=True)
        pipeline_id = UnicodeAttribute()
        table_name = UnicodeAttribute()
        database = UnicodeAttribute(null=True)
        role = UnicodeAttribute(default="source")
        location = UnicodeAttribute(null=True)
        format = UnicodeAttribute(default="parquet")
        load_type = UnicodeAttribute(default="full")
        watermark_column = UnicodeAttribute(null=True)
        watermark_value = UnicodeAttribute(null=True)
        watermark_type = UnicodeAttribute(default="string")  # issue #23: the same attributes as ours
        partition_columns = ListAttribute[str](of=UnicodeAttribute, default=list)
        primary_keys = ListAttribute[str](of=UnicodeAttribute, default=list)
        options = MapAttribute[str, Any](default=dict)
        is_active = BooleanAttribute(default=True)
        description = UnicodeAttribute(null=True)
        version = NumberAttribute()
        created_at = IsoUtcAttribute()
        updated_at = IsoUtcAttribute()

    return RunLogModel, TableConfigModel

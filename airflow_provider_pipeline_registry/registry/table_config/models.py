"""Table config: the entity (stored), the upsert DTO (validated input) and the view (read)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..fields import Identifier, Name, StringMap, Text
from ..model import GlobalSecondaryIndex, RegistryModel
from ..views import ViewModel
from ..watermarks.values import MAX_WATERMARK_CHARS, WatermarkType, normalize_watermark

PIPELINE_TABLES_INDEX = "pipeline_tables_index"


class TableFormat(StrEnum):
    PARQUET = "parquet"
    DELTA = "delta"
    ICEBERG = "iceberg"
    ORC = "orc"
    CSV = "csv"
    JSON = "json"
    AVRO = "avro"
    JDBC = "jdbc"


class LoadType(StrEnum):
    FULL = "full"
    INCREMENTAL = "incremental"
    APPEND = "append"
    MERGE = "merge"


class TableRole(StrEnum):
    SOURCE = "source"
    TARGET = "target"


class _TableFields(BaseModel):
    table_id: Identifier
    pipeline_id: Identifier
    table_name: Name
    database: str | None = Field(default=None, max_length=255)
    role: TableRole = TableRole.SOURCE
    location: str | None = Field(default=None, max_length=4096, description="path or URI of the data")
    format: TableFormat = TableFormat.PARQUET
    load_type: LoadType = LoadType.FULL
    watermark_column: str | None = Field(default=None, max_length=255)
    #: the starting low bound, before the first committed watermark (see ``watermark_type``)
    watermark_value: str | None = Field(default=None, max_length=MAX_WATERMARK_CHARS)
    #: how the watermark is typed and ordered: timestamp, integer or string (the default)
    watermark_type: WatermarkType = WatermarkType.STRING
    partition_columns: list[str] = Field(default_factory=list, max_length=100)
    primary_keys: list[str] = Field(default_factory=list, max_length=100)
    options: StringMap = Field(default_factory=dict)
    is_active: bool = True
    description: Text | None = None


class TableConfigUpsert(_TableFields):
    """Input for creating or replacing a table config. Unknown fields are refused."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @model_validator(mode="after")
    def _starting_watermark_has_its_type(self) -> TableConfigUpsert:
        """A starting ``watermark_value`` must be a value of ``watermark_type`` (a run reads it)."""
        values = self.__dict__  # an update validates one field at a time, on a partial instance
        if values.get("watermark_value"):
            from ..errors import RegistryValidationError as RegistryValidationError

            kind = values.get("watermark_type") or WatermarkType.STRING
            try:
                normalize_watermark(values["watermark_value"], kind, table_id=values.get("table_id") or "?")
            except RegistryValidationError as exc:
                raise ValueError(f"watermark_value: {exc.message}") from None
        return self


class TableConfig(RegistryModel, _TableFields):
    """A stored table config."""

    class Meta:
        table = "table_config"
        partition_key = "table_id"
        gsis = (GlobalSecondaryIndex(PIPELINE_TABLES_INDEX, partition_key="pipeline_id", sort_key="table_id"),)

    version: int = Field(ge=1)
    created_at: datetime
    updated_at: datetime


class TableConfigView(ViewModel, _TableFields):
    """A table config for display: datetimes in the user's timezone."""

    version: int
    created_at: datetime
    updated_at: datetime

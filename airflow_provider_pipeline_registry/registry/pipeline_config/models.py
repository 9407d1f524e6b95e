"""Pipeline config: the entity (stored), the upsert DTO (validated input) and the view (read)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from ..errors import ValidationError
from ..fields import Identifier, JsonMap, Name, StringMap, Tags, Text
from ..model import GlobalSecondaryIndex, RegistryModel
from ..schedules import parse_dag_settings, parse_schedule
from ..views import ViewModel

ACTIVE_PIPELINES_INDEX = "active_pipelines_index"


class _PipelineFields(BaseModel):
    pipeline_id: Identifier
    name: Name
    description: Text | None = None
    owner: Name = "unknown"
    is_active: bool = True
    schedule: str | None = Field(default=None, max_length=256)
    spark_application: str | None = Field(default=None, max_length=4096, description="path or URI of the job")
    spark_conf: StringMap = Field(default_factory=dict)
    spark_args: list[str] = Field(default_factory=list, max_length=1000)
    parameters: JsonMap = Field(default_factory=dict)
    tags: Tags = Field(default_factory=list)
    #: settings of the pipeline's generated DAG (retries, retry_delay, start_date, catchup, ...):
    #: ``schedules.DAG_SETTINGS``
    dag: JsonMap = Field(default_factory=dict)


class PipelineConfigUpsert(_PipelineFields):
    """Input for creating or replacing a pipeline config. Unknown fields are refused.

    ``schedule`` and ``dag`` are checked here, when written (:mod:`..schedules`); a stored config
    is read as it is, so one written before the check is reported when its DAG is generated.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("schedule")
    @classmethod
    def _check_schedule(cls, value: str | None, info: ValidationInfo) -> str | None:
        try:
            parse_schedule(value, pipeline_id=info.data.get("pipeline_id") or None)
        except ValidationError as exc:
            raise ValueError(exc.errors[0]["message"]) from None
        return value

    @field_validator("dag")
    @classmethod
    def _check_dag(cls, value: dict[str, Any]) -> dict[str, Any]:
        try:
            parse_dag_settings(value)
        except ValidationError as exc:
            raise ValueError(f"{exc.errors[0]['field']}: {exc.errors[0]['message']}") from None
        return value


class PipelineConfig(RegistryModel, _PipelineFields):
    """A stored pipeline config."""

    class Meta:
        table = "pipeline_config"
        partition_key = "pipeline_id"
        gsis = (GlobalSecondaryIndex(ACTIVE_PIPELINES_INDEX, partition_key="is_active", sort_key="pipeline_id"),)

    version: int = Field(ge=1)
    created_at: datetime
    updated_at: datetime


class PipelineConfigView(ViewModel, _PipelineFields):
    """A pipeline config for display: datetimes in the user's timezone."""

    version: int
    created_at: datetime
    updated_at: datetime

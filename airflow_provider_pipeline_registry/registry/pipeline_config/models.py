"""Pipeline config: the entity (stored), the upsert DTO (validated input) and the view (read)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from ..fields import Identifier, JsonMap, Name, StringMap, Tags, Text
from ..model import GlobalSecondaryIndex, RegistryModel
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


class PipelineConfigUpsert(_PipelineFields):
    """Input for creating or replacing a pipeline config. Unknown fields are refused."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


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

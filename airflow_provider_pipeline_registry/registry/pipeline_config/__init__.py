"""Pipeline configuration: one item per pipeline (PK ``pipeline_id``)."""

from .commands import PipelineConfigWriteApi
from .models import PipelineConfig, PipelineConfigUpsert, PipelineConfigView
from .queries import PipelineConfigReadApi

__all__ = [
    "PipelineConfig",
    "PipelineConfigReadApi",
    "PipelineConfigUpsert",
    "PipelineConfigView",
    "PipelineConfigWriteApi",
]

"""Commands over ``pipeline_config``."""

from __future__ import annotations

from ..config_store import ConfigWriteApi
from .models import PipelineConfig, PipelineConfigUpsert


class PipelineConfigWriteApi(ConfigWriteApi[PipelineConfig, PipelineConfigUpsert]):
    """Create, update, upsert, delete and batch-upsert pipeline configs (optimistic locking)."""

    entity_type = PipelineConfig
    upsert_type = PipelineConfigUpsert

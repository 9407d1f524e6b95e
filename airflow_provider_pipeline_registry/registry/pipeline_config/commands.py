"""Commands over ``pipeline_config``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..config_store import ConfigWriteApi
from .models import PipelineConfig, PipelineConfigUpsert


class PipelineConfigWriteApi(ConfigWriteApi[PipelineConfig, PipelineConfigUpsert]):
    """Create, update, upsert, delete and batch-upsert pipeline configs (optimistic locking).

    ``create_pipeline``, ``update_pipeline``, ``upsert_pipeline`` and ``delete_pipeline`` are the
    seed library's names: thin aliases of ``create``, ``update``, ``upsert`` and ``delete``.
    """

    entity_type = PipelineConfig
    upsert_type = PipelineConfigUpsert

    # -- the seed library's names -------------------------------------------------------------
    def create_pipeline(self, data: PipelineConfigUpsert | Mapping[str, Any]) -> PipelineConfig:
        """Alias of :meth:`create`."""
        return self.create(data)

    def update_pipeline(
        self, pipeline_id: str, changes: Mapping[str, Any], *, expected_version: int | None = None
    ) -> PipelineConfig:
        """Alias of :meth:`update`."""
        return self.update(pipeline_id, changes, expected_version=expected_version)

    def upsert_pipeline(
        self, data: PipelineConfigUpsert | Mapping[str, Any], *, expected_version: int | None = None
    ) -> PipelineConfig:
        """Alias of :meth:`upsert`."""
        return self.upsert(data, expected_version=expected_version)

    def delete_pipeline(self, pipeline_id: str, *, expected_version: int | None = None) -> PipelineConfig:
        """Alias of :meth:`delete`."""
        return self.delete(pipeline_id, expected_version=expected_version)

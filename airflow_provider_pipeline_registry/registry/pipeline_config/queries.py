"""Queries over ``pipeline_config``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import tzinfo

from ..config_store import ConfigReadApi
from ..keys import build_gsi_key_condition
from ..views import ResultPage, iterate_pages
from .models import ACTIVE_PIPELINES_INDEX, PipelineConfig, PipelineConfigView


class PipelineConfigReadApi(ConfigReadApi[PipelineConfig, PipelineConfigView]):
    """Read pipeline configs: by id, many by ids, active ones (GSI), all (scan)."""

    entity_type = PipelineConfig
    view_type = PipelineConfigView

    def list_active(
        self, *, limit: int = 100, page_token: str | None = None, tz: str | tzinfo | None = None
    ) -> ResultPage[PipelineConfigView]:
        """Active pipelines in ``pipeline_id`` order, a page at a time."""
        condition = build_gsi_key_condition(PipelineConfig, ACTIVE_PIPELINES_INDEX, "true")
        return self._page(condition, limit=limit, page_token=page_token, scope="pipeline_config:active", tz=tz)

    def iter_active(self, *, tz: str | tzinfo | None = None, page_size: int = 100) -> Iterator[PipelineConfigView]:
        """Every active pipeline, walking all pages."""
        return iterate_pages(lambda token: self.list_active(limit=page_size, page_token=token, tz=tz))

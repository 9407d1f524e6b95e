"""Queries over ``table_config``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import tzinfo

from ..conditions import Compare
from ..config_store import ConfigReadApi
from ..keys import build_gsi_key_condition
from ..views import ResultPage, iterate_pages
from .models import PIPELINE_TABLES_INDEX, TableConfig, TableConfigView


class TableConfigReadApi(ConfigReadApi[TableConfig, TableConfigView]):
    """Read table configs: by id, many by ids, the tables of a pipeline (GSI), all (scan)."""

    entity_type = TableConfig
    view_type = TableConfigView

    def list_by_pipeline(
        self,
        pipeline_id: str,
        *,
        active_only: bool = False,
        limit: int = 100,
        page_token: str | None = None,
        tz: str | tzinfo | None = None,
    ) -> ResultPage[TableConfigView]:
        """The tables of ``pipeline_id`` in ``table_id`` order; ``active_only`` drops inactive ones."""
        condition = build_gsi_key_condition(TableConfig, PIPELINE_TABLES_INDEX, pipeline_id)
        active = Compare("is_active", "=", True) if active_only else None
        scope = f"table_config:pipeline:{pipeline_id}:{active_only}"
        return self._page(condition, limit=limit, page_token=page_token, scope=scope, filter_condition=active, tz=tz)

    def iter_by_pipeline(
        self,
        pipeline_id: str,
        *,
        active_only: bool = False,
        tz: str | tzinfo | None = None,
        page_size: int = 100,
    ) -> Iterator[TableConfigView]:
        """Every table of ``pipeline_id``, walking all pages."""
        return iterate_pages(
            lambda token: self.list_by_pipeline(
                pipeline_id, active_only=active_only, limit=page_size, page_token=token, tz=tz
            )
        )

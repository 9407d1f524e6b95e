"""Queries over ``table_config``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import tzinfo
from functools import cached_property
from typing import TYPE_CHECKING

from ..conditions import Compare
from ..config_store import ConfigReadApi
from ..keys import build_gsi_key_condition
from ..views import ResultPage, iterate_pages
from ..watermarks.models import WatermarkEntry, WatermarkState
from .models import PIPELINE_TABLES_INDEX, TableConfig, TableConfigView

if TYPE_CHECKING:
    from ..watermarks.store import WatermarkStore


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

    # -- watermarks (see the README, "Incremental loads") ---------------------------------------
    @cached_property
    def _watermarks(self) -> WatermarkStore:
        from ..watermarks.store import WatermarkStore  # it imports this package's models

        return WatermarkStore(self.config, self.gateway.client)

    def watermark(self, table_id: str) -> WatermarkState:
        """The committed watermark of ``table_id`` (strongly consistent): its value (None before the
        first commit unless the config declares a starting ``watermark_value``), type, ``seq`` and
        what moved it last (a run, or a rewind). ItemNotFoundError for a table without config."""
        return self._watermarks.state(table_id)

    def pipeline_watermarks(self, pipeline_id: str) -> dict[str, WatermarkState]:
        """``{table_id: committed watermark}`` of each active table of ``pipeline_id``: what a run
        starting now would read (e.g. for a DAG without the run logger; a started run's own
        snapshot is its ``watermarks``)."""
        return {t: state for t, (_, state) in self._watermarks.pipeline_states(pipeline_id).items()}

    def watermark_history(
        self, table_id: str, *, limit: int | None = None, newest_first: bool = False
    ) -> list[WatermarkEntry]:
        """Every commit and rewind of ``table_id``'s watermark (run id or actor, from, to, when, why),
        oldest first unless ``newest_first``; at most ``limit`` entries."""
        return self._watermarks.history(table_id, limit=limit, newest_first=newest_first)

"""Commands over ``table_config``."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any

from ..config_store import ConfigWriteApi
from ..watermarks.models import RewindPosition, WatermarkEntry
from .models import TableConfig, TableConfigUpsert

if TYPE_CHECKING:
    from ..watermarks.store import WatermarkStore


class TableConfigWriteApi(ConfigWriteApi[TableConfig, TableConfigUpsert]):
    """Create, update, upsert, delete and batch-upsert table configs (optimistic locking).

    ``create_table``, ``update_table``, ``upsert_table`` and ``delete_table`` are the seed
    library's names: thin aliases of ``create``, ``update``, ``upsert`` and ``delete`` (they
    write a table's *config* item; creating the DynamoDB tables is ``create_tables(config)``).
    """

    entity_type = TableConfig
    upsert_type = TableConfigUpsert

    # -- the seed library's names -------------------------------------------------------------
    def create_table(self, data: TableConfigUpsert | Mapping[str, Any]) -> TableConfig:
        """Alias of :meth:`create`."""
        return self.create(data)

    def update_table(
        self, table_id: str, changes: Mapping[str, Any], *, expected_version: int | None = None
    ) -> TableConfig:
        """Alias of :meth:`update`."""
        return self.update(table_id, changes, expected_version=expected_version)

    def upsert_table(
        self, data: TableConfigUpsert | Mapping[str, Any], *, expected_version: int | None = None
    ) -> TableConfig:
        """Alias of :meth:`upsert`."""
        return self.upsert(data, expected_version=expected_version)

    def delete_table(self, table_id: str, *, expected_version: int | None = None) -> TableConfig:
        """Alias of :meth:`delete`."""
        return self.delete(table_id, expected_version=expected_version)

    # -- watermarks (see the README, "Incremental loads") ---------------------------------------
    @cached_property
    def _watermarks(self) -> WatermarkStore:
        from ..watermarks.store import WatermarkStore  # it imports this package's models

        return WatermarkStore(self.config, self.gateway.client)

    def rewind_watermark(
        self,
        table_id: str,
        *,
        to_run_id: str | None = None,
        value: Any = None,
        reason: str,
        position: RewindPosition | str = RewindPosition.BEFORE,
        actor: str | None = None,
        dry_run: bool = False,
    ) -> WatermarkEntry:
        """Move ``table_id``'s committed watermark, backwards or anywhere, and record it in the history.

        Exactly one of ``to_run_id`` (with ``position="before"``: the low bound that run read, so
        the next run reprocesses what it read; ``"after"``: the value it committed) and ``value``
        (typed by the table's ``watermark_type``). ``reason`` is required; ``actor`` defaults to
        the OS user. The move bumps the watermark's ``seq``, so a run in flight that read the
        previous value fails to commit (WatermarkConflictError naming this rewind). ``dry_run``
        returns the entry that would be written, writing nothing. ItemNotFoundError when the
        table has no config or ``to_run_id`` never committed it.
        """
        return self._watermarks.rewind(
            table_id,
            to_run_id=to_run_id,
            value=value,
            position=position,
            reason=reason,
            actor=actor,
            dry_run=dry_run,
        )

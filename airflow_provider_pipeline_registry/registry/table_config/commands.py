"""Commands over ``table_config``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..config_store import ConfigWriteApi
from .models import TableConfig, TableConfigUpsert


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

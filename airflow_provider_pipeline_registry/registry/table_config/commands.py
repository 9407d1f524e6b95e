"""Commands over ``table_config``."""

from __future__ import annotations

from ..config_store import ConfigWriteApi
from .models import TableConfig, TableConfigUpsert


class TableConfigWriteApi(ConfigWriteApi[TableConfig, TableConfigUpsert]):
    """Create, update, upsert, delete and batch-upsert table configs (optimistic locking)."""

    entity_type = TableConfig
    upsert_type = TableConfigUpsert

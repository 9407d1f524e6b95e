"""Table configuration: one item per table a pipeline reads or writes (PK ``table_id``)."""

from .commands import TableConfigWriteApi
from .models import LoadType, TableConfig, TableConfigUpsert, TableConfigView, TableFormat, TableRole
from .queries import TableConfigReadApi

__all__ = [
    "LoadType",
    "TableConfig",
    "TableConfigReadApi",
    "TableConfigUpsert",
    "TableConfigView",
    "TableConfigWriteApi",
    "TableFormat",
    "TableRole",
]

"""The registry's tables, declared once.

Everything else derives from :data:`TABLES`: the table-name settings (:data:`.settings.SETTINGS`,
so the connection form, the environment variables, the CLI options and ``DynamoDBConfig``'s
fields' defaults), ``DynamoDBConfig.table_name``, the models of :func:`.schema.registry_models`
(hence ``create_tables`` of the core, the hook, the CLI and the test fixtures, and
``tables_status``/``test_connection``). ``tests/unit/test_table_declaration.py`` ties the rest
(the ``LogicalTable`` type, each model's ``Meta.table``, the README's storage contract).

Adding a table: one :class:`RegistryTable` here, its model (with ``Meta.table``), its
``DynamoDBConfig`` field and ``RegistrySettingArgs`` key (typed attributes, which the test checks),
its ``LogicalTable`` literal, and its row in the README's storage contract.

A leaf module: it imports nothing of the registry, so that the settings can derive from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from .model import RegistryModel

#: the logical name of a table (a type for mypy; the test checks it lists :data:`TABLES`)
LogicalTable = Literal["pipeline_config", "table_config", "pipeline_run_logs", "table_watermarks"]


@dataclass(frozen=True)
class RegistryTable:
    """One table of the registry."""

    #: logical name: the default base name of the physical table and its model's ``Meta.table``
    logical: LogicalTable
    #: the registry setting (and ``DynamoDBConfig`` field, hook argument, connection extra) naming it
    setting: str
    #: the setting's label in the connection form
    label: str
    #: the model, ``module:Class`` under ``registry`` (imported lazily: models import the config)
    model_path: str
    #: what one item holds (docs)
    holds: str

    def model(self) -> type[RegistryModel]:
        """The model class of this table."""
        module, _, name = self.model_path.partition(":")
        model: type[RegistryModel] = getattr(import_module(f"{__package__}.{module}"), name)
        return model


#: how long creating the tables waits for them to become ACTIVE, by default (seconds)
TABLE_WAIT_SECONDS = 300.0

TABLES: tuple[RegistryTable, ...] = (
    RegistryTable(
        logical="pipeline_config",
        setting="pipeline_config_table",
        label="Pipeline config table",
        model_path="pipeline_config.models:PipelineConfig",
        holds="one pipeline: name, owner, active flag, Spark application and conf, parameters, tags",
    ),
    RegistryTable(
        logical="table_config",
        setting="table_config_table",
        label="Table config table",
        model_path="table_config.models:TableConfig",
        holds="one table a pipeline reads or writes: names, location, format, load type, watermark",
    ),
    RegistryTable(
        logical="pipeline_run_logs",
        setting="run_logs_table",
        label="Run logs table",
        model_path="run_logs.models:PipelineRunLog",
        holds="one run of a pipeline: status, times, heartbeat, Airflow identity, Spark application id, metrics",
    ),
    RegistryTable(
        logical="table_watermarks",
        setting="watermarks_table",
        label="Watermarks table",
        model_path="watermarks.models:WatermarkRecord",
        holds="one table's committed watermark (entry 'state') or one commit or rewind of it (entry 'history#<seq>')",
    ),
)

TABLES_BY_LOGICAL: dict[str, RegistryTable] = {t.logical: t for t in TABLES}
#: the logical names, in declaration order
LOGICAL_TABLES: tuple[LogicalTable, ...] = tuple(t.logical for t in TABLES)
#: the settings that name a table
TABLE_SETTINGS: tuple[str, ...] = tuple(t.setting for t in TABLES)

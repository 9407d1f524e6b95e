"""``Registry``: the read and write APIs of the three domains over one client."""

from __future__ import annotations

from functools import cached_property

from .config import DynamoDBConfig
from .gateway import DynamoDBClient, create_dynamodb_client
from .pipeline_config import PipelineConfigReadApi, PipelineConfigWriteApi
from .run_logs import PipelineRunLogsReadApi, PipelineRunLogsWriteApi
from .schema import IndexMigration, create_tables, migrate_indexes, tables_status
from .table_config import TableConfigReadApi, TableConfigWriteApi
from .tables import TABLE_WAIT_SECONDS


class Registry:
    """Entry point to the registry: ``Registry(DynamoDBConfig.from_env())``.

    All six APIs share one boto3 client (thread-safe), created lazily on first use.
    """

    def __init__(self, config: DynamoDBConfig, client: DynamoDBClient | None = None) -> None:
        self.config = config
        self._client = client

    def __repr__(self) -> str:
        return f"Registry(endpoint={self.config.endpoint_url!r}, region={self.config.region!r})"

    @cached_property
    def client(self) -> DynamoDBClient:
        return self._client or create_dynamodb_client(self.config)

    @cached_property
    def pipelines(self) -> PipelineConfigReadApi:
        return PipelineConfigReadApi(self.config, self.client)

    @cached_property
    def pipelines_write(self) -> PipelineConfigWriteApi:
        return PipelineConfigWriteApi(self.config, self.client)

    @cached_property
    def tables(self) -> TableConfigReadApi:
        return TableConfigReadApi(self.config, self.client)

    @cached_property
    def tables_write(self) -> TableConfigWriteApi:
        return TableConfigWriteApi(self.config, self.client)

    @cached_property
    def runs(self) -> PipelineRunLogsReadApi:
        return PipelineRunLogsReadApi(self.config, self.client)

    @cached_property
    def runs_write(self) -> PipelineRunLogsWriteApi:
        return PipelineRunLogsWriteApi(self.config, self.client)

    def create_tables(self, *, timeout: float = TABLE_WAIT_SECONDS) -> dict[str, bool]:
        """Create the registry tables if missing (idempotent) and wait until they are active."""
        return create_tables(self.config, self.client, timeout=timeout)

    def migrate_indexes(self, *, dry_run: bool = False, timeout: float = TABLE_WAIT_SECONDS) -> list[IndexMigration]:
        """Give the existing tables' indexes the projections the models declare (see
        :func:`.schema.migrate_indexes`); returns what differed."""
        return migrate_indexes(self.config, self.client, dry_run=dry_run, timeout=timeout)

    def tables_status(self) -> dict[str, str | None]:
        """``{table_name: status or None}`` for the registry tables."""
        return tables_status(self.config, self.client)

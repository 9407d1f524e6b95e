"""The registry core: a CQRS interface to DynamoDB over boto3 and Pydantic only.

Never imports Airflow or pyspark. Names are loaded lazily, so importing a light module such as
``registry.config`` does not import boto3.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS: dict[str, str] = {
    # configuration and errors
    "DynamoDBConfig": "config",
    "RegistryError": "errors",
    "RegistryValidationError": "errors",
    "ValidationError": "errors",  # alias of RegistryValidationError (its former name)
    "CorruptItemError": "errors",
    "ConfigurationError": "errors",
    "ItemNotFoundError": "errors",
    "TableNotFoundError": "errors",
    "ConflictError": "errors",
    "AttemptConflictError": "errors",
    "AttemptSupersededError": "errors",
    "PipelineRunningError": "errors",
    "TableAttachedError": "errors",
    "RetryableError": "errors",
    "WatermarkConflictError": "errors",
    "WatermarkBackwardsError": "errors",
    "RegistryConnectionError": "errors",
    "AccessDeniedError": "errors",
    # model base and utilities
    "RegistryModel": "model",
    "GlobalSecondaryIndex": "model",
    "ModelMetadata": "model",
    "extract_model_metadata": "model",
    "build_model_key": "keys",
    "build_gsi_key_condition": "keys",
    "to_utc": "timezones",
    "ensure_timezone_aware": "timezones",
    "to_user_timezone": "timezones",
    "format_for_display": "timezones",
    "format_utc": "timezones",
    "parse_utc": "timezones",
    # gateway and schema
    "TableGateway": "gateway",
    "create_table_gateway": "gateway",
    "create_dynamodb_client": "gateway",
    "create_tables": "schema",
    "tables_status": "schema",
    "table_definition": "schema",
    "Registry": "facade",
    "ResultPage": "views",
    "BatchUpsertReport": "config_store",
    # domains
    "PipelineConfig": "pipeline_config",
    "PipelineConfigUpsert": "pipeline_config",
    "PipelineConfigView": "pipeline_config",
    "PipelineConfigReadApi": "pipeline_config",
    "PipelineConfigWriteApi": "pipeline_config",
    "TableConfig": "table_config",
    "TableConfigUpsert": "table_config",
    "TableConfigView": "table_config",
    "TableConfigReadApi": "table_config",
    "TableConfigWriteApi": "table_config",
    "TableFormat": "table_config",
    "LoadType": "table_config",
    "TableRole": "table_config",
    "PipelineRunLog": "run_logs",
    "PipelineRunLogUpsert": "run_logs",
    "PipelineRunLogView": "run_logs",
    "PipelineRunSummary": "run_logs",
    "PipelineRunLogsReadApi": "run_logs",
    "PipelineRunLogsWriteApi": "run_logs",
    "RunStart": "run_logs",
    "RunFinish": "run_logs",
    "RunAttempt": "run_logs",
    "RunStatus": "run_logs",
    "TERMINAL_STATUSES": "run_logs",
    # incremental loads
    "WatermarkType": "watermarks",
    "WatermarkState": "watermarks",
    "WatermarkEntry": "watermarks",
    "WatermarkMove": "watermarks",
    "RewindPosition": "watermarks",
    "high_watermark": "watermarks",
    # the run logger used inside Spark drivers
    "PipelineRunLogger": "run_logger",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:
    from .config import DynamoDBConfig
    from .config_store import BatchUpsertReport
    from .errors import (
        AccessDeniedError,
        AttemptConflictError,
        AttemptSupersededError,
        ConfigurationError,
        ConflictError,
        CorruptItemError,
        ItemNotFoundError,
        PipelineRunningError,
        RegistryConnectionError,
        RegistryError,
        RegistryValidationError,
        RetryableError,
        TableAttachedError,
        TableNotFoundError,
        ValidationError,
        WatermarkBackwardsError,
        WatermarkConflictError,
    )
    from .facade import Registry
    from .gateway import TableGateway, create_dynamodb_client, create_table_gateway
    from .keys import build_gsi_key_condition, build_model_key
    from .model import GlobalSecondaryIndex, ModelMetadata, RegistryModel, extract_model_metadata
    from .pipeline_config import (
        PipelineConfig,
        PipelineConfigReadApi,
        PipelineConfigUpsert,
        PipelineConfigView,
        PipelineConfigWriteApi,
    )
    from .run_logger import PipelineRunLogger
    from .run_logs import (
        TERMINAL_STATUSES,
        PipelineRunLog,
        PipelineRunLogsReadApi,
        PipelineRunLogsWriteApi,
        PipelineRunLogUpsert,
        PipelineRunLogView,
        PipelineRunSummary,
        RunAttempt,
        RunFinish,
        RunStart,
        RunStatus,
    )
    from .schema import create_tables, table_definition, tables_status
    from .table_config import (
        LoadType,
        TableConfig,
        TableConfigReadApi,
        TableConfigUpsert,
        TableConfigView,
        TableConfigWriteApi,
        TableFormat,
        TableRole,
    )
    from .timezones import (
        ensure_timezone_aware,
        format_for_display,
        format_utc,
        parse_utc,
        to_user_timezone,
        to_utc,
    )
    from .watermarks import (
        RewindPosition,
        WatermarkEntry,
        WatermarkMove,
        WatermarkState,
        WatermarkType,
        high_watermark,
    )

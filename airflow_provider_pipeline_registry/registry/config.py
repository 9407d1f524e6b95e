"""Registry settings: where DynamoDB is, what the tables are called, how to retry, which timezone.

``DynamoDBConfig`` holds no credentials: those come from the boto3 credential chain (or, under
Airflow, from the ``aws`` connection), so a config can be logged, pickled or put in XCom safely.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import tzinfo
from typing import Any, Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .errors import ConfigurationError
from .timezones import get_timezone

Environment = Literal["dev", "staging", "prod"]
RetryMode = Literal["standard", "adaptive"]
LogicalTable = Literal["pipeline_config", "table_config", "pipeline_run_logs"]
LOGICAL_TABLES: tuple[LogicalTable, ...] = ("pipeline_config", "table_config", "pipeline_run_logs")

_TABLE_NAME = re.compile(r"^[A-Za-z0-9_.-]*$")
_URL = re.compile(r"^https?://[^\s/:]+(:\d{1,5})?(/.*)?$")

# environment variable -> field
ENV_VARS: dict[str, str] = {
    "DYNAMODB_ENDPOINT_URL": "endpoint_url",
    "DYNAMODB_TABLE_PREFIX": "table_prefix",
    "DYNAMODB_ENVIRONMENT": "environment",
    "DYNAMODB_USER_TIMEZONE": "user_timezone",
    "DYNAMODB_PIPELINE_CONFIG_TABLE": "pipeline_config_table",
    "DYNAMODB_TABLE_CONFIG_TABLE": "table_config_table",
    "DYNAMODB_RUN_LOGS_TABLE": "run_logs_table",
    "DYNAMODB_MAX_ATTEMPTS": "max_attempts",
    "DYNAMODB_RETRY_MODE": "retry_mode",
    "DYNAMODB_BASE_BACKOFF_SECONDS": "base_backoff_seconds",
    "DYNAMODB_MAX_BACKOFF_SECONDS": "max_backoff_seconds",
    "DYNAMODB_CONNECT_TIMEOUT": "connect_timeout",
    "DYNAMODB_READ_TIMEOUT": "read_timeout",
    "DYNAMODB_RUN_LOG_RETENTION_DAYS": "run_log_retention_days",
}


class DynamoDBConfig(BaseModel):
    """Where the registry lives and how to talk to it. Immutable; validated at construction."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    region: str = Field(default="us-east-1", min_length=1)
    endpoint_url: str | None = None
    environment: Environment | None = None
    table_prefix: str = ""
    pipeline_config_table: str = "pipeline_config"
    table_config_table: str = "table_config"
    run_logs_table: str = "pipeline_run_logs"
    user_timezone: str = "UTC"
    #: total attempts per call (first try included), made by botocore's retry handler
    max_attempts: int = Field(default=6, ge=1, le=20)
    #: botocore's retry mode: ``standard``, or ``adaptive`` (adds client-side rate limiting)
    retry_mode: RetryMode = "standard"
    #: backoff of the gateway's own re-sending of ``UnprocessedItems``/``UnprocessedKeys`` only
    base_backoff_seconds: float = Field(default=0.05, gt=0, le=10)
    max_backoff_seconds: float = Field(default=5.0, gt=0, le=120)
    connect_timeout: float = Field(default=5.0, gt=0, le=300)
    read_timeout: float = Field(default=30.0, gt=0, le=900)
    run_log_retention_days: int | None = Field(default=None, ge=1, le=36500)

    @field_validator("endpoint_url")
    @classmethod
    def _check_endpoint(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not _URL.match(value):
            raise ValueError(f"endpoint_url must look like http(s)://host[:port], got {value!r}")
        return value.rstrip("/")

    @field_validator("user_timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            get_timezone(value)
        except ConfigurationError as exc:
            raise ValueError(exc.message) from None
        return value.strip()

    @field_validator("table_prefix", "pipeline_config_table", "table_config_table", "run_logs_table")
    @classmethod
    def _check_table_name(cls, value: str) -> str:
        if not _TABLE_NAME.match(value):
            raise ValueError(f"{value!r} may contain only letters, digits, '_', '-' and '.'")
        return value

    @model_validator(mode="after")
    def _check_full_names(self) -> DynamoDBConfig:
        for logical in LOGICAL_TABLES:
            name = self.table_name(logical)
            if not 3 <= len(name) <= 255:
                raise ValueError(f"table name {name!r} must be 3 to 255 characters long")
        if self.max_backoff_seconds < self.base_backoff_seconds:
            raise ValueError("max_backoff_seconds must be >= base_backoff_seconds")
        return self

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except pydantic.ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'config'}: {e['msg']}" for e in exc.errors(include_url=False)
            )
            raise ConfigurationError(f"invalid DynamoDBConfig: {problems}") from None

    @property
    def effective_prefix(self) -> str:
        """The explicit prefix, or ``<environment>_`` when only an environment is set."""
        if self.table_prefix:
            return self.table_prefix
        return f"{self.environment}_" if self.environment else ""

    def table_name(self, logical: LogicalTable) -> str:
        """The physical DynamoDB table name of a logical table."""
        base = {
            "pipeline_config": self.pipeline_config_table,
            "table_config": self.table_config_table,
            "pipeline_run_logs": self.run_logs_table,
        }[logical]
        return f"{self.effective_prefix}{base}"

    @property
    def tzinfo(self) -> tzinfo:
        """The user's timezone as a ``tzinfo``."""
        return get_timezone(self.user_timezone)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> DynamoDBConfig:
        """Build from ``DYNAMODB_*`` and ``AWS_REGION``/``AWS_DEFAULT_REGION``; overrides win."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
        if region:
            values["region"] = region
        for var, field in ENV_VARS.items():
            raw = env.get(var)
            if raw is not None and raw != "":
                values[field] = raw
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def to_env(self) -> dict[str, str]:
        """The environment variables that make :meth:`from_env` rebuild this config (no secrets)."""
        env = {"AWS_DEFAULT_REGION": self.region, "AWS_REGION": self.region}
        for var, field in ENV_VARS.items():
            value = getattr(self, field)
            default = type(self).model_fields[field].default
            if value is not None and value != default:
                env[var] = str(value)
        return env

    def describe(self) -> dict[str, Any]:
        """A secret-free summary: endpoint, region, table names, timezone."""
        return {
            "endpoint_url": self.endpoint_url or f"https://dynamodb.{self.region}.amazonaws.com",
            "region": self.region,
            "environment": self.environment,
            "table_prefix": self.effective_prefix,
            "tables": {logical: self.table_name(logical) for logical in LOGICAL_TABLES},
            "user_timezone": self.user_timezone,
        }

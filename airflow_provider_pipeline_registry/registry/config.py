"""Registry settings: where DynamoDB is, what the tables are called, how to retry, which timezone.

``DynamoDBConfig`` holds no credentials: those come from the boto3 credential chain (or, under
Airflow, from the ``aws`` connection), so a config can be logged, pickled or put in XCom safely.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import tzinfo
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin

import pydantic
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .errors import ConfigurationError
from .settings import SETTINGS, SETTINGS_BY_NAME, TABLE_NAME_PATTERN
from .tables import LOGICAL_TABLES as LOGICAL_TABLES  # re-exported: the names' old home
from .tables import TABLE_SETTINGS, TABLES_BY_LOGICAL
from .tables import LogicalTable as LogicalTable
from .timezones import USER_TIMEZONE_ENV, get_timezone

Environment = Literal["dev", "staging", "prod"]
RetryMode = Literal["standard", "adaptive"]

_TABLE_NAME = re.compile(TABLE_NAME_PATTERN)
_URL = re.compile(r"^https?://[^\s/:]+(:\d{1,5})?(/.*)?$")

#: environment variable -> field (each setting's variables, from :data:`.settings.SETTINGS`)
ENV_VARS: dict[str, str] = {var: s.name for s in SETTINGS for var in s.env_vars}


def _declared(name: str) -> Any:
    """The pydantic field of a declared setting: its default, bounds and description."""
    setting = SETTINGS_BY_NAME[name]
    return Field(default=setting.default, description=setting.description, **setting.field_constraints())


class DynamoDBConfig(BaseModel):
    """Where the registry lives and how to talk to it. Immutable; validated at construction."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    region: str = _declared("region")
    endpoint_url: str | None = _declared("endpoint_url")
    environment: Environment | None = _declared("environment")
    table_prefix: str = _declared("table_prefix")
    pipeline_config_table: str = _declared("pipeline_config_table")
    table_config_table: str = _declared("table_config_table")
    run_logs_table: str = _declared("run_logs_table")
    watermarks_table: str = _declared("watermarks_table")
    user_timezone: str = _declared("user_timezone")
    max_attempts: int = _declared("max_attempts")
    base_backoff_seconds: float = _declared("base_backoff_seconds")
    max_backoff_seconds: float = _declared("max_backoff_seconds")
    batch_concurrency: int = _declared("batch_concurrency")
    retry_mode: RetryMode = _declared("retry_mode")
    connect_timeout: float = _declared("connect_timeout")
    read_timeout: float = _declared("read_timeout")
    run_log_retention_days: int | None = _declared("run_log_retention_days")

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

    @field_validator("table_prefix", *TABLE_SETTINGS)
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
        """Validate the settings. ``user_timezone`` not given (or None) is ``DYNAMODB_USER_TIMEZONE``
        when that is set and not empty, else UTC: an explicit value always wins."""
        env_timezone = None
        if data.get("user_timezone") is None:
            data.pop("user_timezone", None)
            env_timezone = os.environ.get(USER_TIMEZONE_ENV) or None
            if env_timezone is not None:
                data["user_timezone"] = env_timezone
        try:
            super().__init__(**data)
        except pydantic.ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'config'}: {e['msg']}" for e in exc.errors(include_url=False)
            )
            origin = f" (user_timezone from {USER_TIMEZONE_ENV})" if env_timezone is not None else ""
            raise ConfigurationError(f"invalid DynamoDBConfig{origin}: {problems}") from None

    @property
    def effective_prefix(self) -> str:
        """The explicit prefix, or ``<environment>_`` when only an environment is set."""
        if self.table_prefix:
            return self.table_prefix
        return f"{self.environment}_" if self.environment else ""

    def table_name(self, logical: LogicalTable) -> str:
        """The physical DynamoDB table name of a logical table."""
        base: str = getattr(self, TABLES_BY_LOGICAL[logical].setting)
        return f"{self.effective_prefix}{base}"

    @property
    def tzinfo(self) -> tzinfo:
        """The user's timezone as a ``tzinfo``."""
        return get_timezone(self.user_timezone)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> DynamoDBConfig:
        """Build from each setting's environment variables (``DYNAMODB_*``, ``AWS_REGION`` then
        ``AWS_DEFAULT_REGION``) of ``environ`` (default ``os.environ``); non-None overrides win."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for setting in SETTINGS:
            raw = next((env[var] for var in setting.env_vars if env.get(var)), None)
            if raw is not None:
                values[setting.name] = raw
            elif setting.name == "user_timezone":  # the given environment only, never os.environ's
                values[setting.name] = setting.default
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def to_env(self) -> dict[str, str]:
        """The environment variables that make :meth:`from_env` rebuild this config (no secrets)."""
        env: dict[str, str] = {}
        for setting in SETTINGS:
            value = getattr(self, setting.name)
            if value is not None and (value != setting.default or setting.export_default):
                env.update(dict.fromkeys(setting.env_vars, str(value)))
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


def _annotation_parts(annotation: Any) -> tuple[set[type], set[Any], bool]:
    """(base types, Literal values, accepts None) of a field annotation."""
    types: set[type] = set()
    literals: set[Any] = set()
    nullable = False
    pending = [annotation]
    while pending:
        current = pending.pop()
        if current is type(None) or current is None:
            nullable = True
        elif get_origin(current) is Literal:
            literals.update(get_args(current))
            types.update(type(v) for v in get_args(current))
        elif get_origin(current) in (Union, UnionType):
            pending.extend(get_args(current))
        elif isinstance(current, type):
            types.add(current)
    return types, literals, nullable


def declaration_mismatches(model: type[BaseModel] | None = None) -> list[str]:
    """How the fields of ``model`` (default ``DynamoDBConfig``) differ from :data:`.settings.SETTINGS`
    in name, type, nullability, choices or default (empty: they agree)."""
    kinds = {"str": str, "int": int, "float": float}
    fields = (model or DynamoDBConfig).model_fields
    problems = [f"field {name!r} is not declared in SETTINGS" for name in fields if name not in SETTINGS_BY_NAME]
    for setting in SETTINGS:
        field = fields.get(setting.name)
        if field is None:
            problems.append(f"setting {setting.name!r} is not a field")
            continue
        types, literals, nullable = _annotation_parts(field.annotation)
        if types != {kinds[setting.kind]}:
            problems.append(f"{setting.name}: annotation {field.annotation!r} is not of kind {setting.kind}")
        if nullable != setting.nullable:
            problems.append(f"{setting.name}: None in annotation: {nullable}, declared nullable={setting.nullable}")
        if set(setting.choices or ()) != literals:
            problems.append(f"{setting.name}: Literal values {sorted(literals)} differ from choices {setting.choices}")
        if field.default != setting.default:
            problems.append(f"{setting.name}: default {field.default!r} differs from the declared {setting.default!r}")
    return problems


if _problems := declaration_mismatches():  # a programming error: fail at import, not in production
    raise RuntimeError("DynamoDBConfig disagrees with registry.settings.SETTINGS: " + "; ".join(_problems))

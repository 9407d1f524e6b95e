"""The one declaration of every registry setting.

Each :class:`Setting` names a :class:`~.config.DynamoDBConfig` field, its type, default and bounds,
its environment variable(s), its connection extra, its form label and help text, and the keyword
argument the hook, operators, sensor and callbacks take for it. Everything else is derived from
:data:`SETTINGS`:

* ``DynamoDBConfig``'s defaults, bounds and descriptions, ``ENV_VARS``, ``from_env`` and ``to_env``
  (so the run logger's environment);
* the hook's constructor arguments and its parsing of the connection extras;
* the ``pipeline_registry`` connection form (``get_provider_info()``'s ``conn-fields``);
* the hook's ``trigger_kwargs()`` (what a deferred sensor hands to the triggerer).

Pure Python (no pydantic, boto3 or Airflow), so ``get_provider_info()`` can import it cheaply.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypedDict

from .tables import TABLES

#: the value kinds a setting can have
Kind = Literal["str", "int", "float"]
#: who reads the setting's connection extra: this provider, or the amazon provider's connection wrapper
ReadBy = Literal["registry", "aws"]

#: characters DynamoDB accepts in a table name (the prefix and the base names)
TABLE_NAME_PATTERN = r"^[A-Za-z0-9_.-]*$"

_JSON_TYPES: dict[Kind, str] = {"str": "string", "int": "integer", "float": "number"}


@dataclass(frozen=True)
class Setting:
    """One registry setting, declared once.

    :param name: the ``DynamoDBConfig`` field.
    :param kind: ``str``, ``int`` or ``float`` (text from the environment or a form is converted).
    :param default: the field's default.
    :param label: the connection form's label.
    :param description: help text (the default is appended in the form; do not repeat it here).
    :param env_vars: environment variables; ``from_env`` reads the first non-empty one, ``to_env``
        writes all of them.
    :param extra: the key in the connection's extra JSON (and the form field's name).
    :param hook_arg: the keyword argument of the hook, operators, sensor and callbacks.
    :param read_by: ``registry``: parsed by this provider from the extras; ``aws``: an amazon
        provider extra (``region_name``, ``endpoint_url``) that its connection wrapper resolves.
    :param nullable: None is a valid value (it means "unset" / "off").
    :param choices: the allowed values of a text setting.
    :param ge: inclusive lower bound; :param gt: exclusive lower bound; :param le: upper bound.
    :param min_length: shortest text allowed.
    :param pattern: regular expression a text value must match.
    :param url: the value is a URL (form hint).
    :param export_default: ``to_env`` writes it even when it has its default value.
    """

    name: str
    kind: Kind
    default: Any
    label: str
    description: str
    env_vars: tuple[str, ...]
    extra: str
    hook_arg: str
    read_by: ReadBy = "registry"
    nullable: bool = False
    choices: tuple[str, ...] | None = None
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    min_length: int | None = None
    pattern: str | None = None
    url: bool = False
    export_default: bool = False

    @property
    def env_var(self) -> str:
        """The main environment variable (the first of :attr:`env_vars`)."""
        return self.env_vars[0]

    def default_text(self) -> str:
        """The default as shown in help texts and the README."""
        if self.default is None:
            return "none"
        if self.default == "":
            return "empty"
        return str(self.default)

    def field_constraints(self) -> dict[str, Any]:
        """Keyword arguments of ``pydantic.Field`` for the bounds (``ge``, ``gt``, ``le``, ``min_length``)."""
        bounds = {"ge": self.ge, "gt": self.gt, "le": self.le, "min_length": self.min_length}
        return {key: value for key, value in bounds.items() if value is not None}

    def json_schema(self) -> dict[str, Any]:
        """The connection form field's JSON schema (always nullable, no minimum length: a blank
        field means unset)."""
        schema: dict[str, Any] = {"type": [_JSON_TYPES[self.kind], "null"]}
        if self.choices is not None:
            schema["enum"] = [*self.choices, None]
        if self.ge is not None:
            schema["minimum"] = self.ge
        if self.gt is not None:
            schema["exclusiveMinimum"] = self.gt
        if self.le is not None:
            schema["maximum"] = self.le
        if self.pattern is not None:
            schema["pattern"] = self.pattern
        if self.url:
            schema["format"] = "url"
        return schema

    def form_field(self) -> dict[str, Any]:
        """The ``conn-fields`` entry of the connection form."""
        default = "" if self.default is None else f" Default: {self.default_text()}."
        return {
            "label": self.label,
            "description": f"{self.description}{default}",
            "schema": self.json_schema(),
        }


def _timeout(name: str, label: str, description: str, default: float, le: float) -> Setting:
    return Setting(
        name=name,
        kind="float",
        default=default,
        label=label,
        description=description,
        env_vars=(f"DYNAMODB_{name.upper()}",),
        extra=name,
        hook_arg=name,
        gt=0,
        le=le,
    )


def _table(name: str, label: str, default: str) -> Setting:
    return Setting(
        name=name,
        kind="str",
        default=default,
        label=label,
        description="Table name before the prefix.",
        env_vars=(f"DYNAMODB_{name.upper()}",),
        extra=name,
        hook_arg=name,
        pattern=TABLE_NAME_PATTERN,
    )


#: every registry setting, in the order of the form and the README table
SETTINGS: tuple[Setting, ...] = (
    Setting(
        name="region",
        kind="str",
        default="us-east-1",
        label="Region",
        description="AWS region of the registry tables, e.g. eu-west-1.",
        env_vars=("AWS_REGION", "AWS_DEFAULT_REGION"),
        extra="region_name",
        hook_arg="region_name",
        read_by="aws",
        min_length=1,
        export_default=True,
    ),
    Setting(
        name="endpoint_url",
        kind="str",
        default=None,
        label="Endpoint URL",
        description="DynamoDB endpoint, e.g. http://localhost:8000 for DynamoDB Local. Empty: AWS.",
        env_vars=("DYNAMODB_ENDPOINT_URL",),
        extra="endpoint_url",
        hook_arg="endpoint_url",
        read_by="aws",
        nullable=True,
        url=True,
    ),
    Setting(
        name="table_prefix",
        kind="str",
        default="",
        label="Table prefix",
        description="Prefix of the four table names, e.g. 'prod_'. Wins over the environment's prefix.",
        env_vars=("DYNAMODB_TABLE_PREFIX",),
        extra="table_prefix",
        hook_arg="table_prefix",
        pattern=TABLE_NAME_PATTERN,
    ),
    Setting(
        name="environment",
        kind="str",
        default=None,
        label="Environment",
        description="dev, staging or prod; gives the prefix '<environment>_' when no table prefix is set.",
        env_vars=("DYNAMODB_ENVIRONMENT",),
        extra="environment",
        hook_arg="environment",
        nullable=True,
        choices=("dev", "staging", "prod"),
    ),
    Setting(
        name="user_timezone",
        kind="str",
        default="UTC",
        label="User timezone",
        description="IANA timezone of the times shown in logs and views, e.g. Europe/Paris. Storage is always UTC.",
        env_vars=("DYNAMODB_USER_TIMEZONE",),
        extra="user_timezone",
        hook_arg="user_timezone",
    ),
    *(_table(t.setting, t.label, t.logical) for t in TABLES),
    _timeout("connect_timeout", "Connect timeout (s)", "Seconds to wait for a TCP connection to DynamoDB.", 5.0, 300),
    _timeout("read_timeout", "Read timeout (s)", "Seconds to wait for a DynamoDB response.", 30.0, 900),
    Setting(
        name="max_attempts",
        kind="int",
        default=6,
        label="Max attempts",
        description=(
            "Total attempts per call (first try included), made by botocore's retry handler "
            "on throttling, 5xx and network faults."
        ),
        env_vars=("DYNAMODB_MAX_ATTEMPTS",),
        extra="max_attempts",
        hook_arg="max_attempts",
        ge=1,
        le=20,
    ),
    _timeout(
        "base_backoff_seconds",
        "Base backoff (s)",
        "Re-sending of unprocessed batch items only: longest wait before the first re-send "
        "(full jitter), doubling per attempt.",
        0.05,
        10,
    ),
    _timeout(
        "max_backoff_seconds", "Max backoff (s)", "Re-sending of unprocessed batch items only: longest wait.", 5.0, 120
    ),
    Setting(
        name="batch_concurrency",
        kind="int",
        default=8,
        label="Batch concurrency",
        description=(
            "Batch writes: how many 25-item BatchWriteItem chunks are in flight at once on the one "
            "client (its connection pool is raised to at least this). 1: one chunk after the other."
        ),
        env_vars=("DYNAMODB_BATCH_CONCURRENCY",),
        extra="batch_concurrency",
        hook_arg="batch_concurrency",
        ge=1,
        le=64,
    ),
    Setting(
        name="retry_mode",
        kind="str",
        default="standard",
        label="Retry mode",
        description="botocore's retry mode: standard, or adaptive (adds client-side rate limiting after throttling).",
        env_vars=("DYNAMODB_RETRY_MODE",),
        extra="retry_mode",
        hook_arg="retry_mode",
        choices=("standard", "adaptive"),
    ),
    Setting(
        name="run_log_retention_days",
        kind="int",
        default=None,
        label="Run log retention (days)",
        description="Days a run log is kept (DynamoDB TTL). Empty: kept forever.",
        env_vars=("DYNAMODB_RUN_LOG_RETENTION_DAYS",),
        extra="run_log_retention_days",
        hook_arg="run_log_retention_days",
        nullable=True,
        ge=1,
        le=36500,
    ),
)

#: the settings by ``DynamoDBConfig`` field name
SETTINGS_BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}
#: the settings by hook / operator keyword argument
SETTINGS_BY_HOOK_ARG: dict[str, Setting] = {s.hook_arg: s for s in SETTINGS}
#: the settings this provider reads from a connection's extras, by extra key
REGISTRY_EXTRA_SETTINGS: dict[str, Setting] = {s.extra: s for s in SETTINGS if s.read_by == "registry"}
#: the legacy form-field key prefix of older Airflow UIs (``extra__<conn_type>__<field>``)
LEGACY_EXTRA_PREFIX = "extra__pipeline_registry__"


class RegistrySettingArgs(TypedDict, total=False):
    """The registry-setting keyword arguments of the hook (one per :data:`SETTINGS` entry)."""

    region_name: str | None
    endpoint_url: str | None
    table_prefix: str | None
    environment: str | None
    user_timezone: str | None
    pipeline_config_table: str | None
    table_config_table: str | None
    run_logs_table: str | None
    watermarks_table: str | None
    connect_timeout: float | None
    read_timeout: float | None
    max_attempts: int | None
    base_backoff_seconds: float | None
    max_backoff_seconds: float | None
    batch_concurrency: int | None
    retry_mode: str | None
    run_log_retention_days: int | None


def settings_from_extras(extras: Mapping[str, Any]) -> dict[str, Any]:
    """``{field: value}`` of the registry settings present in a connection's extras.

    Reads the plain key (``table_prefix``) and the legacy form key
    (``extra__pipeline_registry__table_prefix``); a blank value counts as unset. ``region_name``
    and ``endpoint_url`` are the amazon provider's extras and are not read here.
    """
    settings: dict[str, Any] = {}
    for key, setting in REGISTRY_EXTRA_SETTINGS.items():
        for candidate in (key, f"{LEGACY_EXTRA_PREFIX}{key}"):
            value = extras.get(candidate)
            if value is None or (isinstance(value, str) and not value.strip()):
                continue
            settings[setting.name] = value.strip() if isinstance(value, str) else value
            break
    return settings


def settings_from_hook_args(args: Mapping[str, Any]) -> dict[str, Any]:
    """``{field: value}`` of the hook arguments given (None counts as not given)."""
    return {SETTINGS_BY_HOOK_ARG[arg].name: value for arg, value in args.items() if value is not None}


def hook_args_of(values: Mapping[str, Any]) -> dict[str, Any]:
    """``{hook argument: value}`` of every setting, from a mapping of field name -> value."""
    return {s.hook_arg: values[s.name] for s in SETTINGS}


def settings_table() -> str:
    """The README's table of settings (Markdown), one row per declared setting."""
    rows = [
        "| argument and extra | `DynamoDBConfig` field | environment variable | default | meaning |",
        "| --- | --- | --- | --- | --- |",
    ]
    for s in SETTINGS:
        variables = ", then ".join(f"`{var}`" for var in s.env_vars)
        meaning = s.description
        if s.choices is not None and s.choices[0] not in meaning:
            meaning = f"{' or '.join(s.choices)}: {meaning}"
        if s.read_by == "aws":
            meaning += " (an amazon provider extra)"
        default = f"`{s.default}`" if s.default not in (None, "") else s.default_text()
        rows.append(f"| `{s.hook_arg}` | `{s.name}` | {variables} | {default} | {meaning.replace('|', '/')} |")
    return "\n".join(rows) + "\n"


def _check_declaration() -> None:
    """Refuse a declaration that contradicts itself (a programming error, caught at import)."""
    problems = []
    for attr in ("name", "hook_arg", "extra", "env_var"):
        values = [getattr(s, attr) for s in SETTINGS]
        if len(set(values)) != len(values):
            problems.append(f"duplicate {attr} in SETTINGS")
    if set(RegistrySettingArgs.__annotations__) != set(SETTINGS_BY_HOOK_ARG):
        problems.append("RegistrySettingArgs does not list exactly the declared hook arguments")
    for s in SETTINGS:
        if s.choices is not None and s.default is not None and s.default not in s.choices:
            problems.append(f"{s.name}: default {s.default!r} is not one of its choices")
    if problems:
        raise RuntimeError("registry settings declaration: " + "; ".join(problems))


_check_declaration()

"""Per-invocation state shared by the commands: the registry settings, the registry, the consoles.

Nothing here imports boto3 (nor the registry's config models) until a command needs them, so that
``pipeline-registry --help`` and command-line errors answer at once.
"""

from __future__ import annotations

import configparser
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import tzinfo
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import typer

from ..registry.errors import ConfigurationError

if TYPE_CHECKING:
    from rich.console import Console

    from ..registry.config import DynamoDBConfig
    from ..registry.facade import Registry


def _console(*, stderr: bool = False, soft_wrap: bool = False, highlight: bool = False) -> Console:
    """A rich console, imported on first use (``--help`` never loads rich's console)."""
    from rich.console import Console

    return Console(stderr=stderr, soft_wrap=soft_wrap, highlight=highlight)


@dataclass(frozen=True)
class GlobalOptions:
    """The setting options given on the command line, by ``DynamoDBConfig`` field (an option not
    given is absent: it falls back to the environment)."""

    values: Mapping[str, Any] = field(default_factory=dict)


def check_endpoint_port(url: str | None) -> None:
    """Raise ConfigurationError when ``url`` has a port that is not a number from 0 to 65535."""
    if not url:
        return
    try:
        urlsplit(url).port  # noqa: B018 - parsing the port is the check
    except ValueError:
        raise ConfigurationError(
            f"endpoint_url: {url!r} has an invalid port (a number from 1 to 65535 is expected)"
        ) from None


@dataclass
class CliState:
    """Built by the root callback from the global options (and the ``DYNAMODB_*`` variables)."""

    options: GlobalOptions = field(default_factory=GlobalOptions)
    out: Console = field(default_factory=lambda: _console(soft_wrap=False, highlight=False))
    err: Console = field(default_factory=lambda: _console(stderr=True, highlight=False))

    @cached_property
    def settings(self) -> DynamoDBConfig:
        """The registry settings: the global options, else the environment (ConfigurationError if bad)."""
        from ..registry.config import DynamoDBConfig

        settings = DynamoDBConfig.from_env(**self.options.values)
        check_endpoint_port(settings.endpoint_url)
        return settings

    @cached_property
    def registry(self) -> Registry:
        """The registry (its boto3 client is created on first use)."""
        from ..registry.facade import Registry

        return Registry(self.settings)

    @property
    def tz(self) -> tzinfo:
        """The display timezone (``--tz``, else ``DYNAMODB_USER_TIMEZONE``, else UTC)."""
        return self.settings.tzinfo


def airflow_sensitive_var_conn_names(environ: Mapping[str, str] | None = None) -> str:
    """Airflow's ``[core] sensitive_var_conn_names`` read the way Airflow reads it, without importing
    Airflow: ``AIRFLOW__CORE__SENSITIVE_VAR_CONN_NAMES``, else the ``airflow.cfg`` at ``AIRFLOW_CONFIG``
    (else ``$AIRFLOW_HOME/airflow.cfg``, ``~/airflow/airflow.cfg``) when there is one; else empty."""
    env = os.environ if environ is None else environ
    if "AIRFLOW__CORE__SENSITIVE_VAR_CONN_NAMES" in env:
        return env["AIRFLOW__CORE__SENSITIVE_VAR_CONN_NAMES"]
    home = Path(env.get("AIRFLOW_HOME") or Path.home() / "airflow").expanduser()
    path = Path(env.get("AIRFLOW_CONFIG") or home / "airflow.cfg").expanduser()
    if not path.is_file():
        return ""
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except (OSError, configparser.Error, UnicodeDecodeError):
        return ""
    return parser.get("core", "sensitive_var_conn_names", fallback="")


def get_state(ctx: typer.Context) -> CliState:
    """The state stored on the root context by the ``pipeline-registry`` callback."""
    state = ctx.find_object(CliState)
    if state is None:  # pragma: no cover - the root callback always sets it
        raise RuntimeError("pipeline-registry state missing: invoke commands through the root app")
    state.settings  # noqa: B018 - bad settings are reported before the command does anything
    from ..registry.redaction import add_sensitive_names

    add_sensitive_names(airflow_sensitive_var_conn_names())  # masked as Airflow masks, where it is set up
    return state

"""Per-invocation state shared by the commands: the registry settings, the registry, the consoles."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import tzinfo
from functools import cached_property

import typer
from rich.console import Console

from ..registry.config import DynamoDBConfig
from ..registry.facade import Registry


@dataclass
class CliState:
    """Built by the root callback from the global options (and the ``DYNAMODB_*`` variables)."""

    config: DynamoDBConfig
    out: Console = field(default_factory=lambda: Console(soft_wrap=False, highlight=False))
    err: Console = field(default_factory=lambda: Console(stderr=True, highlight=False))

    @cached_property
    def registry(self) -> Registry:
        """The registry (its boto3 client is created on first use)."""
        return Registry(self.config)

    @property
    def tz(self) -> tzinfo:
        """The display timezone (``--tz``, else ``DYNAMODB_USER_TIMEZONE``, else UTC)."""
        return self.config.tzinfo


def get_state(ctx: typer.Context) -> CliState:
    """The state stored on the root context by the ``pipeline-registry`` callback."""
    state = ctx.find_object(CliState)
    if state is None:  # pragma: no cover - the root callback always sets it
        raise RuntimeError("pipeline-registry state missing: invoke commands through the root app")
    return state

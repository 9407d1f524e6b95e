"""Helpers for the CLI tests: invoke ``pipeline-registry`` through typer's CliRunner against
DynamoDB Local, each test on its own table prefix."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from airflow_provider_pipeline_registry.cli.app import app
from airflow_provider_pipeline_registry.registry import DynamoDBConfig, Registry

WriteFile = Callable[[str, Any], str]


@dataclass
class Cli:
    """Runs ``pipeline-registry <global options> <args>`` in-process."""

    endpoint: str
    prefix: str
    runner: CliRunner

    def __call__(
        self,
        *args: str,
        env: dict[str, str] | None = None,
        tz: str | None = None,
        width: int = 250,
        input: str | None = None,
    ) -> Result:
        """``width``: the terminal's columns (COLUMNS); wide by default, so that ids do not wrap.
        ``input``: what the command reads on stdin (answers to a confirmation)."""
        base = ["--endpoint-url", self.endpoint, "--table-prefix", self.prefix]
        if tz is not None:
            base += ["--tz", tz]
        return self.runner.invoke(app, [*base, *args], input=input, env={"COLUMNS": str(width), **(env or {})})

    def json(self, *args: str, tz: str | None = None) -> Any:
        """Run a read command with ``--json``; assert exit 0 and parse stdout."""
        result = self(*args, "--json", tz=tz)
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)


@pytest.fixture
def cli(dynamodb_endpoint: str, unique_prefix: str) -> Cli:
    """The CLI on a fresh prefix (no tables yet)."""
    return Cli(dynamodb_endpoint, unique_prefix, CliRunner())


@pytest.fixture
def registry(dynamodb_endpoint: str, unique_prefix: str) -> Registry:
    """A registry on the same prefix as ``cli``, with its tables created."""
    reg = Registry(DynamoDBConfig(endpoint_url=dynamodb_endpoint, table_prefix=unique_prefix))
    reg.create_tables()
    return reg


@pytest.fixture
def write_file(tmp_path: Any) -> WriteFile:
    """``write_file(name, data)``: dump ``data`` as YAML or JSON (by suffix), or write a str as is."""
    import yaml

    def write(name: str, data: Any) -> str:
        path = tmp_path / name
        if isinstance(data, str):
            path.write_text(data, encoding="utf-8")
        elif name.endswith(".json"):
            path.write_text(json.dumps(data), encoding="utf-8")
        else:
            path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        return str(path)

    return write

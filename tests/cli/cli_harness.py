"""The CLI tests' harness: invoke ``pipeline-registry`` through typer's CliRunner against
DynamoDB Local. A uniquely named module (not ``conftest``), so that test modules of several
directories can import their helpers in one pytest call."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from typer.testing import CliRunner, Result

from airflow_provider_pipeline_registry.cli.app import app

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

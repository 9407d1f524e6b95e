"""Fixtures of the CLI tests (the harness is in cli_harness.py; the registry on the same prefix as
``cli`` is the suite's ``registry`` fixture, tests/conftest.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cli_harness import Cli, WriteFile
from typer.testing import CliRunner


@pytest.fixture
def cli(dynamodb_endpoint: str, unique_prefix: str) -> Cli:
    """The CLI on a fresh prefix (no tables yet)."""
    return Cli(dynamodb_endpoint, unique_prefix, CliRunner())


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

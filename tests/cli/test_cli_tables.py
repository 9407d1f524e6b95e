"""``pipeline-registry tables create|status`` against DynamoDB Local."""

from __future__ import annotations

import json

import pytest
from cli_harness import Cli

from airflow_provider_pipeline_registry.cli.exit_codes import ExitCode
from airflow_provider_pipeline_registry.registry.tables import LOGICAL_TABLES

pytestmark = pytest.mark.integration


def test_status_of_missing_tables_exits_not_found(cli: Cli) -> None:
    result = cli("tables", "status", "--json")
    assert result.exit_code == ExitCode.NOT_FOUND
    statuses = json.loads(result.stdout)
    assert statuses == {f"{cli.prefix}{t}": None for t in LOGICAL_TABLES}  # the one declaration


def test_create_then_status(cli: Cli) -> None:
    created = cli("tables", "create", "--json")
    assert created.exit_code == 0, created.output
    report = json.loads(created.stdout)
    assert set(report) == {f"{cli.prefix}{t}" for t in LOGICAL_TABLES}
    assert all(v == {"status": "ACTIVE", "created": True} for v in report.values())

    again = cli("tables", "create", "--json")  # idempotent
    assert again.exit_code == 0
    assert all(v == {"status": "ACTIVE", "created": False} for v in json.loads(again.stdout).values())

    human = cli("tables", "status")
    assert human.exit_code == 0, human.output
    assert f"{cli.prefix}pipeline_run_logs" in human.stdout
    assert human.stdout.count("ACTIVE") == len(LOGICAL_TABLES)

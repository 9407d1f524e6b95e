"""``pipeline-registry tables create|status|migrate-indexes`` against DynamoDB Local."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cli_harness import Cli
from registry_fixtures import create_with_all_projections

from airflow_provider_pipeline_registry.cli.exit_codes import ExitCode
from airflow_provider_pipeline_registry.registry.run_logs.models import RUN_INDEX_ATTRIBUTES
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


@pytest.mark.needs("gsi-update")
def test_migrate_indexes_of_a_table_created_with_all_projections(cli: Cli, make_registry: Any) -> None:
    registry = make_registry(create=False)
    create_with_all_projections(registry)  # the tables as an earlier version created them
    declared = f"INCLUDE({', '.join(sorted(RUN_INDEX_ATTRIBUTES))})"
    runs_table = f"{cli.prefix}pipeline_run_logs"

    dry = cli("tables", "migrate-indexes", "--dry-run", "--json")
    assert dry.exit_code == 0, dry.output
    expected = [
        {"table": runs_table, "index": index, "current": "ALL", "declared": declared, "action": "recreate"}
        for index in ("pipeline_runs_index", "running_runs_index")
    ]
    assert json.loads(dry.stdout) == {"dry_run": True, "indexes": expected}
    human = cli("tables", "migrate-indexes", "--dry-run")
    assert f"would recreate {runs_table}.pipeline_runs_index: ALL -> {declared}" in human.stdout

    done = cli("tables", "migrate-indexes", "--json", "--timeout", "60")
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout) == {"dry_run": False, "indexes": expected}
    again = cli("tables", "migrate-indexes")
    assert again.exit_code == 0, again.output
    assert "nothing to migrate" in again.stdout

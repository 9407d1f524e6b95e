"""``pipeline-registry pipelines list|show``."""

from __future__ import annotations

import pytest
from cli_harness import Cli, WriteFile
from test_cli_config_import import pipeline

from airflow_provider_pipeline_registry.cli.exit_codes import ExitCode
from airflow_provider_pipeline_registry.registry import Registry

pytestmark = pytest.mark.integration


@pytest.fixture
def seeded(cli: Cli, registry: Registry, write_file: WriteFile) -> Registry:
    document = [pipeline("zeta", 1), pipeline("alpha", 2), pipeline("dormant", 1, is_active=False)]
    assert cli("config", "import", write_file("p.yaml", document)).exit_code == 0
    return registry


def test_list_active_by_default_and_all(cli: Cli, seeded: Registry) -> None:
    assert [p["pipeline_id"] for p in cli.json("pipelines", "list")] == ["alpha", "zeta"]
    assert [p["pipeline_id"] for p in cli.json("pipelines", "list", "--all")] == ["alpha", "dormant", "zeta"]

    human = cli("pipelines", "list", "--all")
    assert human.exit_code == 0, human.output
    assert "3 pipeline(s)" in human.stdout
    assert "dormant" in human.stdout


def test_show_with_tables_in_the_chosen_timezone(cli: Cli, seeded: Registry) -> None:
    shown = cli.json("pipelines", "show", "alpha", tz="Asia/Tokyo")
    assert shown["pipeline_id"] == "alpha"
    assert [t["table_id"] for t in shown["tables"]] == ["alpha.t0000", "alpha.t0001"]
    assert shown["display_timezone"] == "Asia/Tokyo"
    assert shown["created_at"].endswith("+09:00")
    assert shown["tables"][0]["updated_at"].endswith("+09:00")

    human = cli("pipelines", "show", "alpha", tz="Asia/Tokyo")
    assert human.exit_code == 0, human.output
    assert "JST (" in human.stdout  # local time ...
    assert " UTC)" in human.stdout  # ... with UTC beside it
    assert "alpha.t0001" in human.stdout
    assert "2 table(s)" in human.stdout


def test_show_unknown_pipeline_is_not_found(cli: Cli, seeded: Registry) -> None:
    result = cli("pipelines", "show", "nope")
    assert result.exit_code == ExitCode.NOT_FOUND
    assert "not found" in result.stderr
    assert "Traceback" not in result.output


def test_list_without_tables_is_not_found_with_a_hint(cli: Cli) -> None:
    result = cli("pipelines", "list")
    assert result.exit_code == ExitCode.NOT_FOUND
    assert "tables create" in result.stderr

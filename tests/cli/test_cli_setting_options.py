"""The global options are derived from the one declaration of the settings (``SETTINGS``): every
declared setting has its option, with the declared help text, falling back to its environment
variables; a setting added to ``SETTINGS`` reaches the CLI with nothing else to write."""

from __future__ import annotations

import json

import typer.core
import typer.main
import typer.testing
from cli_harness import Cli

from airflow_provider_pipeline_registry.cli.app import app
from airflow_provider_pipeline_registry.registry.settings import SETTINGS


def root_options() -> dict[str, typer.core.TyperOption]:
    command = typer.main.get_command(app)
    return {p.name: p for p in command.params if isinstance(p, typer.core.TyperOption) and p.name}


def test_every_declared_setting_has_a_global_option_with_its_declared_help() -> None:
    options = root_options()
    assert set(options) - {"help"} == {s.name for s in SETTINGS}
    for setting in SETTINGS:
        option = options[setting.name]
        assert option.help is not None
        assert option.help.startswith(setting.description), setting.name
        assert f"[env: {', '.join(setting.env_vars)}]" in option.help, setting.name
        if setting.default is not None:
            assert f"Default: {setting.default_text()}." in option.help, setting.name
    # the options the CLI always had keep their names
    flags = {name: option.opts for name, option in options.items()}
    assert flags["endpoint_url"] == ["--endpoint-url"]
    assert flags["region"] == ["--region"]
    assert flags["table_prefix"] == ["--table-prefix"]
    assert flags["user_timezone"] == ["--tz"]
    assert flags["run_logs_table"] == ["--run-logs-table"]
    assert flags["max_attempts"] == ["--max-attempts"]


def test_help_lists_every_setting_option() -> None:
    result = typer.testing.CliRunner().invoke(app, ["--help"], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    for option in root_options().values():
        assert option.opts[0] in result.output


def table_names(cli: Cli, *options: str, env: dict[str, str] | None = None) -> set[str]:
    result = cli(*options, "tables", "status", "--json", env=env)
    assert result.exit_code == 3, result.output  # the tables are not created: exit 3, names still listed
    return set(json.loads(result.stdout))


def test_a_setting_option_reaches_the_registry_and_wins_over_its_variable(cli: Cli) -> None:
    p = cli.prefix
    names = table_names(cli, "--run-logs-table", "my_runs", "--pipeline-config-table", "my_pipelines")
    assert names == {f"{p}my_runs", f"{p}my_pipelines", f"{p}table_config", f"{p}table_watermarks"}
    # the variable applies when the option is not given; the option wins over it
    env = {"DYNAMODB_RUN_LOGS_TABLE": "env_runs"}
    assert f"{p}env_runs" in table_names(cli, env=env)
    assert f"{p}opt_runs" in table_names(cli, "--run-logs-table", "opt_runs", env=env)


def test_a_bad_setting_option_is_a_usage_error_naming_the_setting(cli: Cli) -> None:
    result = cli("--max-attempts", "0", "tables", "status")
    assert result.exit_code == 2, result.output
    assert "max_attempts" in result.stderr
    result = cli("--retry-mode", "eager", "tables", "status")
    assert result.exit_code == 2, result.output
    assert "retry_mode" in result.stderr

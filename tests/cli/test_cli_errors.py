"""Global options, environment fallback, exit codes, and clean error output."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from cli_harness import Cli
from typer.testing import CliRunner

from airflow_provider_pipeline_registry.cli.app import app
from airflow_provider_pipeline_registry.cli.exit_codes import ExitCode, exit_code_for
from airflow_provider_pipeline_registry.registry import Registry
from airflow_provider_pipeline_registry.registry.errors import (
    AccessDeniedError,
    ConfigurationError,
    ConflictError,
    ItemNotFoundError,
    RegistryConnectionError,
    RegistryError,
    RetryableError,
    TableNotFoundError,
    ValidationError,
)


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (ItemNotFoundError("x"), 3),
        (TableNotFoundError("x"), 3),
        (ConflictError("x"), 4),
        (ValidationError("x"), 5),
        (RetryableError("x"), 6),
        (RegistryConnectionError("x"), 6),
        (AccessDeniedError("x"), 7),
        (ConfigurationError("x"), 2),
        (RegistryError("x"), 1),
        (RuntimeError("x"), 1),
    ],
)
def test_exit_code_table(error: BaseException, code: int) -> None:
    assert exit_code_for(error) == code


def test_exit_codes_are_distinct() -> None:
    values = [c.value for c in ExitCode]
    assert len(values) == len(set(values))


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_endpoint_is_a_connection_error_without_credentials() -> None:
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    env = {
        "DYNAMODB_MAX_ATTEMPTS": "1",
        "DYNAMODB_CONNECT_TIMEOUT": "1",
        "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
        "AWS_SECRET_ACCESS_KEY": secret,
    }
    endpoint = f"http://127.0.0.1:{_closed_port()}"
    result = CliRunner().invoke(app, ["--endpoint-url", endpoint, "pipelines", "list"], env=env)
    assert result.exit_code == ExitCode.CONNECTION, result.output
    assert result.stderr.startswith("error: cannot reach DynamoDB")
    assert "Traceback" not in result.output
    assert "AKIAIOSFODNN7EXAMPLE" not in result.output
    assert secret not in result.output


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--tz", "Mars/Olympus_Mons"], "unknown timezone"),
        (["--endpoint-url", "localhost:8000"], "endpoint_url"),
        (["--table-prefix", "bad prefix!"], "table_prefix"),
        (["--endpoint-url", "http://localhost:99999"], "invalid port"),
        (["--endpoint-url", "http://localhost:80a"], "endpoint_url"),
    ],
)
def test_bad_global_options_are_usage_errors(args: list[str], needle: str) -> None:
    result = CliRunner().invoke(app, [*args, "tables", "status"])
    assert result.exit_code == ExitCode.USAGE, result.output
    assert needle in result.stderr
    assert "Traceback" not in result.output
    assert "Value error" not in result.output
    assert "unexpected" not in result.output


def test_a_bad_port_in_the_environment_is_a_usage_error() -> None:
    result = CliRunner().invoke(app, ["tables", "status"], env={"DYNAMODB_ENDPOINT_URL": "http://127.0.0.1:70000"})
    assert result.exit_code == ExitCode.USAGE, result.output
    assert "invalid port" in result.stderr


_PROBE = """
import sys
from airflow_provider_pipeline_registry.cli.app import main
sys.argv = ["pipeline-registry", *sys.argv[1:]]
try:
    main()
except SystemExit as exc:
    code = exc.code
heavy = sorted(m for m in ("boto3", "botocore", "airflow", "pyspark") if m in sys.modules)
prefix = "airflow_provider_pipeline_registry.cli.commands."
groups = sorted(m.removeprefix(prefix) for m in sys.modules if m.startswith(prefix))
print("HEAVY=" + ",".join(heavy), "CODE=" + str(code), "PYDANTIC=" + str("pydantic" in sys.modules), file=sys.stderr)
print("GROUPS=" + ",".join(groups), file=sys.stderr)
"""


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["--help"], 0),
        (["runs", "--help"], 0),
        (["config", "import", "--help"], 0),
        (["runs", "list"], 2),  # missing --pipeline
        (["runs", "list", "-p", "x", "--status", "DONE"], 2),
        (["frobnicate"], 2),
    ],
)
def test_help_and_argument_errors_do_not_import_boto3(args: list[str], code: int) -> None:
    completed = subprocess.run(
        [sys.executable, "-c", _PROBE, *args], capture_output=True, text=True, timeout=120, check=False
    )
    assert f"HEAVY= CODE={code}" in completed.stderr, completed.stderr  # nothing heavy imported
    if args == ["--help"]:  # the first thing a user runs (benchmarks' "cli" section) needs no pydantic either
        assert "PYDANTIC=False" in completed.stderr, completed.stderr
        # and no command group's module: the list comes from cli/groups.py (options.py: the root's options)
        assert "GROUPS=options\n" in completed.stderr, completed.stderr
    if args[0] == "runs":  # a group's own module only
        assert "GROUPS=options,runs\n" in completed.stderr, completed.stderr


def test_unknown_command_is_a_usage_error() -> None:
    assert CliRunner().invoke(app, ["frobnicate"]).exit_code == ExitCode.USAGE


@pytest.mark.integration
def test_settings_fall_back_to_the_environment_and_flags_win(
    dynamodb_endpoint: str, unique_prefix: str, registry: Registry
) -> None:
    env = {"DYNAMODB_ENDPOINT_URL": dynamodb_endpoint, "DYNAMODB_TABLE_PREFIX": unique_prefix}
    from_env = CliRunner().invoke(app, ["tables", "status", "--json"], env=env)
    assert from_env.exit_code == 0, from_env.output
    assert f"{unique_prefix}pipeline_config" in json.loads(from_env.stdout)

    overridden = CliRunner().invoke(app, ["--table-prefix", "elsewhere_", "tables", "status", "--json"], env=env)
    assert overridden.exit_code == ExitCode.NOT_FOUND
    assert "elsewhere_pipeline_config" in json.loads(overridden.stdout)


@pytest.mark.integration
def test_console_script_runs(cli: Cli, registry: Registry) -> None:
    script = Path(sys.executable).parent / "pipeline-registry"
    completed = subprocess.run(
        [str(script), "--endpoint-url", cli.endpoint, "--table-prefix", cli.prefix, "tables", "status", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert all(status == "ACTIVE" for status in json.loads(completed.stdout).values())
    # that importing the CLI loads no Airflow: tests/unit/test_import_boundaries.py

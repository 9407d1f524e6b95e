"""Secrets in a pipeline's config never reach the terminal: ``pipelines show`` (table and JSON),
``pipelines list --json``, ``config export`` to stdout; ``config export -o FILE`` keeps the real
values and round-trips through ``config import``; a masked export is refused by ``config import``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from cli_harness import Cli, WriteFile

from airflow_provider_pipeline_registry.cli.exit_codes import ExitCode
from airflow_provider_pipeline_registry.registry import Registry

pytestmark = pytest.mark.integration

S3_SECRET = "cliS3Secret/Key+0123456789abcdefXYZ"
KEY_ID = "AKIACLISECRETKEY0042"
ARG_PASSWORD = "cliArgPassw0rd-5521"
ARG_SECRET = "cliArgSecret-7813"
API_TOKEN = "cliApiToken-99012"
NESTED_PASSWORD = "cliNestedPassw0rd-3317"
JDBC_PASSWORD = "cliJdbcPassw0rd-6160"
OPTIONS_PASSWORD = "cliOptionsPassw0rd-2208"
LOCATION_SECRET = "cliLocationSecret-4471"
SECRETS = (
    S3_SECRET,
    KEY_ID,
    ARG_PASSWORD,
    ARG_SECRET,
    API_TOKEN,
    NESTED_PASSWORD,
    JDBC_PASSWORD,
    OPTIONS_PASSWORD,
    LOCATION_SECRET,
)


def secret_document() -> dict[str, Any]:
    return {
        "pipelines": [
            {
                "pipeline_id": "vault",
                "name": "Vault",
                "spark_application": "s3://jobs/vault.py",
                "spark_conf": {
                    "spark.executor.memory": "2g",
                    "spark.hadoop.fs.s3a.secret.key": S3_SECRET,
                    "spark.vault.jdbc.url": f"jdbc:postgresql://db:5432/v?user=etl&password={JDBC_PASSWORD}",
                },
                "spark_args": ["--date", "{{ ds }}", "--db-password", ARG_PASSWORD, f"--secret-key={ARG_SECRET}"],
                "parameters": {"api_token": API_TOKEN, "db": {"host": "db", "password": NESTED_PASSWORD}},
                "tables": [
                    {
                        "table_id": "vault.src",
                        "table_name": "src",
                        "location": f"s3a://{KEY_ID}:{LOCATION_SECRET}@lake/src/",
                        "options": {"header": "true", "password": OPTIONS_PASSWORD},
                    }
                ],
            }
        ]
    }


@pytest.fixture
def seeded(cli: Cli, registry: Registry, write_file: WriteFile) -> Registry:
    result = cli("config", "import", write_file("vault.yaml", secret_document()))
    assert result.exit_code == 0, result.output
    stored = registry.pipelines.get_by_id("vault")  # control: the registry holds the real values
    assert stored.spark_conf["spark.hadoop.fs.s3a.secret.key"] == S3_SECRET
    return registry


def assert_no_secret(text: str, where: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{secret} shown by {where}"


def test_pipelines_show_masks_every_secret(cli: Cli, seeded: Registry) -> None:
    shown = cli("pipelines", "show", "vault")
    assert shown.exit_code == 0, shown.output
    assert "spark.hadoop.fs.s3a.secret.key" in shown.stdout  # the key is shown, its value is not
    assert "s3a://***@lake/src/" in shown.stdout
    assert_no_secret(shown.output, "pipelines show")

    data = cli.json("pipelines", "show", "vault")
    assert data["spark_conf"]["spark.hadoop.fs.s3a.secret.key"] == "***"
    assert data["spark_conf"]["spark.vault.jdbc.url"] == "jdbc:postgresql://db:5432/v?user=etl&password=***"
    assert data["spark_args"] == ["--date", "{{ ds }}", "--db-password", "***", "--secret-key=***"]
    assert data["parameters"] == {"api_token": "***", "db": {"host": "db", "password": "***"}}
    assert data["tables"][0]["options"] == {"header": "true", "password": "***"}
    assert data["tables"][0]["location"] == "s3a://***@lake/src/"
    listed = cli("pipelines", "list", "--json")
    assert listed.exit_code == 0
    assert "vault" in listed.stdout
    assert_no_secret(listed.output, "pipelines list --json")


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_config_export_to_stdout_masks_every_secret(cli: Cli, seeded: Registry, fmt: str) -> None:
    exported = cli("config", "export", "--format", fmt)
    assert exported.exit_code == 0, exported.output
    document = json.loads(exported.stdout) if fmt == "json" else yaml.safe_load(exported.stdout)
    assert document["pipelines"][0]["spark_conf"]["spark.hadoop.fs.s3a.secret.key"] == "***"
    assert document["pipelines"][0]["spark_conf"]["spark.executor.memory"] == "2g"
    assert_no_secret(exported.stdout, f"config export --format {fmt}")
    assert "secrets are masked (***) on stdout; -o FILE writes the real values" in exported.stderr


def test_config_export_to_a_file_keeps_the_real_values_and_round_trips(
    cli: Cli, seeded: Registry, tmp_path: Path
) -> None:
    out = tmp_path / "export.yaml"
    exported = cli("config", "export", "-o", str(out))
    assert exported.exit_code == 0, exported.output
    assert_no_secret(exported.output, "config export -o (terminal)")
    text = out.read_text()
    for secret in SECRETS:
        assert secret in text  # the file holds the real values
    before = seeded.pipelines.get_by_id("vault")
    again = cli("config", "import", str(out), "--json")
    assert again.exit_code == 0, again.output
    report = json.loads(again.stdout)
    assert (report["pipelines"]["unchanged"], report["tables"]["unchanged"]) == (1, 1)
    assert seeded.pipelines.get_by_id("vault") == before
    assert seeded.tables.get_by_id("vault.src").options["password"] == OPTIONS_PASSWORD


def test_importing_a_masked_export_is_refused(cli: Cli, seeded: Registry, tmp_path: Path) -> None:
    masked = cli("config", "export")
    assert masked.exit_code == 0
    path = tmp_path / "masked.yaml"
    path.write_text(masked.stdout)
    result = cli("config", "import", str(path), "--json")
    assert result.exit_code == ExitCode.VALIDATION, result.output
    report = json.loads(result.stdout)
    assert report["written"] is False
    fields = {p["field"] for p in report["problems"]}
    assert "spark_conf['spark.hadoop.fs.s3a.secret.key']" in fields
    assert "spark_args[3]" in fields
    assert "location" in fields
    assert all("masked value (***)" in p["message"] for p in report["problems"])
    assert seeded.pipelines.get_by_id("vault").spark_conf["spark.hadoop.fs.s3a.secret.key"] == S3_SECRET


def test_airflows_sensitive_var_conn_names_are_masked_too(cli: Cli, registry: Registry, write_file: WriteFile) -> None:
    """``[core] sensitive_var_conn_names`` (the variable, or an airflow.cfg) adds names to mask."""
    document = {"pipelines": [{"pipeline_id": "licensed", "name": "L", "parameters": {"zzcli_licence": "L-77123"}}]}
    assert cli("config", "import", write_file("licensed.yaml", document)).exit_code == 0
    plain = cli("pipelines", "show", "licensed", "--json")
    assert json.loads(plain.stdout)["parameters"] == {"zzcli_licence": "L-77123"}  # not a sensitive name by itself
    shown = cli(
        "pipelines", "show", "licensed", "--json", env={"AIRFLOW__CORE__SENSITIVE_VAR_CONN_NAMES": "zzcli_licence"}
    )
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["parameters"] == {"zzcli_licence": "***"}


def test_sensitive_var_conn_names_from_airflow_cfg(tmp_path: Path) -> None:
    from airflow_provider_pipeline_registry.cli.context import airflow_sensitive_var_conn_names

    (tmp_path / "airflow.cfg").write_text("[core]\nsensitive_var_conn_names = licence, pin\n")
    assert airflow_sensitive_var_conn_names({"AIRFLOW_HOME": str(tmp_path)}) == "licence, pin"
    assert airflow_sensitive_var_conn_names({"AIRFLOW_HOME": str(tmp_path / "none")}) == ""
    env = {"AIRFLOW_HOME": str(tmp_path), "AIRFLOW__CORE__SENSITIVE_VAR_CONN_NAMES": "x"}
    assert airflow_sensitive_var_conn_names(env) == "x"

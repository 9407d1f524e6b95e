"""Secrets in a pipeline's config: the Spark job gets them, nothing Airflow shows holds them.

Real ``dag.test()``: ``LoadPipelineConfigOperator`` loads a pipeline whose Spark conf, arguments,
parameters, table options and table location carry distinctive secrets; a real
``SparkSubmitOperator`` (``local[1]``, ``pre_execute=resolve_pipeline_secrets(...)``) runs a job
that writes the conf and arguments it received. The job got every real value; no XCom value,
rendered template field, log line of ours, or line of the task log as Airflow's masker shows it
holds any of them.

Under ``dag.test()`` Airflow 3 writes the console log without its masker (a task run by the
supervisor has its log masked by the supervisor, which ``mask_secret`` informs), so the spark
provider's own ``Spark-Submit cmd: ...`` line is checked through Airflow's ``redact`` (the masker
``mask_secret`` filled); every other line is checked as written.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest
from dag_modules import load_dag_module
from reliability_helpers import registry_on
from test_secrets import dag_run_rows, log_files

pytestmark = [pytest.mark.airflow, pytest.mark.integration, pytest.mark.spark]

JOB = Path(__file__).resolve().parents[1] / "spark" / "jobs" / "echo_conf_job.py"

S3_SECRET = "cfgS3Secret/Key+0123456789abcdefXYZ"
KEY_ID = "AKIACONFIGSECRETS042"
JDBC_USER_PASSWORD = "cfgJdbcUserinfoPw-5150"
JDBC_PASSWORD = "cfgJdbcQueryPw-8086"
CONF_TOKEN = "cfgConfApiToken-6502"
ARG_PASSWORD = "cfgArgPassw0rd-2600"
ARG_SECRET = "cfgArgSecretKey-1701"
PARAM_TOKEN = "cfgParamApiToken-4004"
NESTED_PASSWORD = "cfgNestedDbPassw0rd-3030"
OPTIONS_PASSWORD = "cfgOptionsPassw0rd-7070"
LOCATION_SECRET = "cfgLocationSecret-9090"
SECRETS = (
    S3_SECRET,
    KEY_ID,
    JDBC_USER_PASSWORD,
    JDBC_PASSWORD,
    CONF_TOKEN,
    ARG_PASSWORD,
    ARG_SECRET,
    PARAM_TOKEN,
    NESTED_PASSWORD,
    OPTIONS_PASSWORD,
    LOCATION_SECRET,
)
JDBC_URL = f"jdbc:postgresql://etl:{JDBC_USER_PASSWORD}@db.example:5432/sales?ssl=true&password={JDBC_PASSWORD}"
ARGS = ["--date", "2026-03-08", "--db-password", ARG_PASSWORD, f"--secret-key={ARG_SECRET}"]


@pytest.fixture(scope="module")
def dags(airflow_db: None) -> ModuleType:
    return load_dag_module("config_secrets_dags.py")


def test_the_spark_job_gets_the_secrets_and_airflow_shows_none(
    dags: ModuleType,
    dynamodb_endpoint: str,
    unique_prefix: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    connection = {
        "conn_type": "aws",
        "login": "testing",
        "password": "testing",
        "extra": {"endpoint_url": dynamodb_endpoint, "region_name": "us-east-1", "table_prefix": unique_prefix},
    }
    monkeypatch.setenv(f"AIRFLOW_CONN_{dags.CONN_ID.upper()}", json.dumps(connection))
    monkeypatch.setenv(f"AIRFLOW_CONN_{dags.SPARK_CONN_ID.upper()}", '{"conn_type": "spark", "host": "local[1]"}')
    monkeypatch.setenv("PYSPARK_PYTHON", sys.executable)
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    output = tmp_path / "received.json"
    registry = registry_on(dynamodb_endpoint, unique_prefix)
    registry.pipelines_write.create(
        {
            "pipeline_id": dags.PIPELINE_ID,
            "name": "Config secrets",
            "spark_application": str(JOB),
            "spark_conf": {
                "spark.pipeline.test.output": str(output),
                "spark.ui.enabled": "false",
                "spark.hadoop.fs.s3a.secret.key": S3_SECRET,
                "spark.hadoop.fs.s3a.access.key": KEY_ID,
                "spark.sales.jdbc.url": JDBC_URL,
                "spark.sales.api.token": CONF_TOKEN,
            },
            "spark_args": ARGS,
            "parameters": {"api_token": PARAM_TOKEN, "db": {"host": "db.example", "password": NESTED_PASSWORD}},
        }
    )
    registry.tables_write.create(
        {
            "table_id": "config_secrets.src",
            "pipeline_id": dags.PIPELINE_ID,
            "table_name": "src",
            "location": f"s3a://{KEY_ID}:{LOCATION_SECRET}@lake/src/",
            "options": {"header": "true", "password": OPTIONS_PASSWORD},
        }
    )
    caplog.set_level(logging.INFO)

    dr = dags.config_secrets_dag.test()
    rows = dag_run_rows(dr)
    assert dict(rows["states"]) == {"load_config": "success", "spark_job": "success"}, capsys.readouterr()

    # the Spark job received every real value
    received = json.loads(output.read_text())
    for key in ("spark.hadoop.fs.s3a.secret.key", "spark.hadoop.fs.s3a.access.key", "spark.sales.jdbc.url"):
        assert received["conf"][key] == registry.pipelines.get_by_id(dags.PIPELINE_ID).spark_conf[key]
    assert received["conf"]["spark.sales.api.token"] == CONF_TOKEN
    assert received["args"] == ARGS

    from airflow.providers.common.compat.sdk import redact as airflow_redact

    captured = capsys.readouterr()
    task_log = captured.out + captured.err + log_files()
    texts = {
        "xcom": json.dumps(rows["xcom"], default=str),
        "rendered fields": json.dumps(rows["rendered"], default=str),
        "task log (as Airflow's masker shows it)": str(airflow_redact(task_log)),
        "task log lines not of the spark provider's hook": "\n".join(
            line for line in task_log.splitlines() if "Spark-Submit cmd" not in line
        ),
        "our log records": "\n".join(
            r.getMessage() for r in caplog.records if r.name.startswith("airflow_provider_pipeline_registry")
        ),
    }
    # controls: what is searched holds the masked config, the command line and our log lines
    assert '"spark.hadoop.fs.s3a.secret.key": "***"' in texts["xcom"]
    assert "s3a://***@lake/src/" in texts["xcom"]
    assert "--secret-key=***" in texts["rendered fields"]  # the Spark task's rendered (masked) arguments
    logs = texts["task log (as Airflow's masker shows it)"]
    assert "Spark-Submit cmd" in logs
    assert "spark.sales.jdbc.url" in logs
    assert "Loaded pipeline 'config_secrets'" in task_log
    assert "given their real value" in texts["our log records"]
    for where, text in texts.items():
        for secret in SECRETS:
            assert secret not in text, f"{secret} leaked into {where}"

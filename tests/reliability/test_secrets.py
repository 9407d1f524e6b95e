"""Credentials in the connection never leak: real Airflow ``dag.test()`` with failing registry tasks.

The ``aws`` connections carry a distinctive access key id, secret key and session token. Tasks
fail (missing pipeline, refused endpoint, run never started), their failure callbacks fail too,
and the hook is used directly with errors. No log line (our loggers, Airflow's, stdout/stderr,
the task log files), XCom value, rendered template field, exception text or repr() contains any
of the three.
"""

from __future__ import annotations

import json
import logging
import os
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from dag_modules import load_dag_module
from dynamodb_local import find_free_port
from reliability_helpers import registry_on

from airflow_provider_pipeline_registry.registry import ItemNotFoundError, RegistryConnectionError

pytestmark = [pytest.mark.airflow, pytest.mark.integration]

KEY_ID = "AKIAXQ7SECRETSTEST42"
SECRET = "wJalrXUtnFEMI/K7MDENG/reliabilitySecret+0123456789abcdefXYZ"
TOKEN = "FwoGZXIvYXdzEReliabilitySessionToken0123456789/abcdefghijklmnopqrstuvwxyz=="
SECRETS = (KEY_ID, SECRET, TOKEN)


@pytest.fixture(scope="module")
def dags(airflow_db: None) -> ModuleType:
    return load_dag_module("reliability_secrets_dags.py")


def connection(endpoint: str, prefix: str) -> str:
    extras = {
        "endpoint_url": endpoint,
        "region_name": "us-east-1",
        "table_prefix": prefix,
        "aws_session_token": TOKEN,
        "max_attempts": 2,
        "connect_timeout": 0.5,
        "user_timezone": "Europe/Paris",
    }
    return json.dumps({"conn_type": "aws", "login": KEY_ID, "password": SECRET, "extra": extras})


def dag_run_rows(dr: Any) -> dict[str, list[Any]]:
    """XCom values and rendered template fields the metadata DB holds for the dag run."""
    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from airflow_versions import xcom_rows
    from sqlalchemy import select

    with create_session() as session:
        rendered = session.scalars(
            select(RenderedTaskInstanceFields).where(
                RenderedTaskInstanceFields.dag_id == dr.dag_id, RenderedTaskInstanceFields.run_id == dr.run_id
            )
        ).all()
        tis = session.scalars(
            select(TaskInstance).where(TaskInstance.dag_id == dr.dag_id, TaskInstance.run_id == dr.run_id)
        ).all()
        return {
            "xcom": xcom_rows(dr),
            "rendered": [(r.task_id, r.rendered_fields) for r in rendered],
            "states": [(ti.task_id, str(getattr(ti.state, "value", ti.state))) for ti in tis],
        }


def log_files() -> str:
    """Every file under AIRFLOW_HOME/logs (task logs, if the handler wrote any)."""
    root = Path(os.environ["AIRFLOW_HOME"]) / "logs"
    if not root.exists():
        return ""
    return "\n".join(p.read_text(errors="replace") for p in root.rglob("*") if p.is_file())


def test_no_credential_in_logs_xcom_rendered_fields_exceptions_or_reprs(
    dags: ModuleType,
    dynamodb_endpoint: str,
    unique_prefix: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    from airflow_provider_pipeline_registry.hooks.pipeline_registry import PipelineRegistryHook

    closed = f"http://127.0.0.1:{find_free_port()}"
    monkeypatch.setenv(f"AIRFLOW_CONN_{dags.CONN_ID.upper()}", connection(dynamodb_endpoint, unique_prefix))
    monkeypatch.setenv(f"AIRFLOW_CONN_{dags.DOWN_CONN_ID.upper()}", connection(closed, unique_prefix))
    monkeypatch.setenv("DYNAMODB_BASE_BACKOFF_SECONDS", "0.001")
    monkeypatch.setenv("DYNAMODB_MAX_BACKOFF_SECONDS", "0.01")
    registry = registry_on(dynamodb_endpoint, unique_prefix)
    registry.pipelines_write.create(
        {"pipeline_id": dags.PIPELINE_ID, "name": "Secrets", "spark_application": "s3://jobs/secrets.py"}
    )
    caplog.set_level(logging.DEBUG, logger="airflow_provider_pipeline_registry")
    caplog.set_level(logging.DEBUG, logger="airflow.task")
    caplog.set_level(logging.INFO)
    texts: dict[str, str] = {}

    # -- the hook, directly, with errors
    hook = PipelineRegistryHook(aws_conn_id=dags.CONN_ID)
    down = PipelineRegistryHook(aws_conn_id=dags.DOWN_CONN_ID)
    credentials = hook.get_credentials()  # control: the client really signs with these three
    assert (credentials.access_key, credentials.secret_key, credentials.token) == SECRETS
    with pytest.raises(ItemNotFoundError) as missing:
        hook.pipelines.get_by_id(dags.MISSING_PIPELINE_ID)
    with pytest.raises(RegistryConnectionError) as refused:
        down.runs_write.start({"run_id": "r", "pipeline_id": dags.PIPELINE_ID})
    for name, exc in (("missing", missing.value), ("refused", refused.value)):
        texts[f"{name} exception"] = "".join(traceback.format_exception(exc)) + repr(exc) + repr(exc.args)
    texts["hook reprs"] = " ".join(map(repr, (hook, down, hook.registry, hook.registry_config, hook.registry.runs)))
    texts["hook descriptions"] = json.dumps([hook.describe_registry(), hook.trigger_kwargs(), down.test_connection()])
    texts["run logger env"] = json.dumps(hook.registry_config.to_env())

    # -- the DAG: one task succeeds, three fail, callbacks fail
    dr = dags.secrets_dag.test()
    rows = dag_run_rows(dr)
    assert dict(rows["states"]) == {
        "load_ok": "success",
        "start_ok": "success",
        "load_missing": "failed",
        "start_down": "failed",
        "end_unknown": "failed",
    }
    texts["xcom"] = json.dumps(rows["xcom"], default=str)
    texts["rendered fields"] = json.dumps(rows["rendered"], default=str)
    texts["task reprs"] = " ".join(repr(t) + repr(t.on_failure_callback) for t in dags.secrets_dag.tasks)
    captured = capsys.readouterr()
    texts["stdout"], texts["stderr"] = captured.out, captured.err
    texts["caplog"] = caplog.text
    texts["log files"] = log_files()

    # controls: the places searched really hold the errors, the XComs and the rendered fields
    logs = texts["stdout"] + texts["stderr"] + texts["caplog"] + texts["log files"]
    assert f"pipeline {dags.MISSING_PIPELINE_ID!r} not found" in logs
    assert f"cannot reach DynamoDB at {closed}" in logs
    assert "could not record FAILED for run" in logs  # the callbacks failed too, and said so
    assert "never-started" in logs
    assert "run_logger_env" in texts["xcom"]
    assert dags.PIPELINE_ID in texts["xcom"]
    assert dags.MISSING_PIPELINE_ID in texts["rendered fields"]
    for where, text in texts.items():
        for secret in SECRETS:
            assert secret not in text, f"{secret[:6]}... leaked into {where}"

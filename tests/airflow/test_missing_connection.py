"""A connection the user named must exist: every path that resolves ``aws_conn_id`` (the hook, the
trigger, the sensor, the operators, the callbacks, the UI plugin's registry) fails with a
``ConfigurationError`` naming it instead of going on, as the amazon provider does, with the default
credential chain, AWS's endpoint and unprefixed table names. Only the default id ``aws_default``
keeps that fallback (and ``aws_conn_id=None`` asks for the credential chain).

The default chain is pointed at a closed local port (``AWS_ENDPOINT_URL_DYNAMODB``), so that a
regression fails fast here instead of trying real AWS.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from datetime import timedelta
from types import ModuleType
from typing import Any

import pytest
from dag_modules import load_dag_module

from airflow_provider_pipeline_registry.hooks.pipeline_registry import PipelineRegistryHook
from airflow_provider_pipeline_registry.registry.errors import ConfigurationError
from airflow_provider_pipeline_registry.registry.timezones import utc_now
from airflow_provider_pipeline_registry.triggers.pipeline_registry import PipelineRunStateTrigger

pytestmark = [pytest.mark.airflow, pytest.mark.integration]

MISSING = "pr_not_defined"
AMAZON_FALLBACK = "Unable to find AWS Connection ID"


@pytest.fixture(autouse=True)
def default_chain_goes_nowhere(monkeypatch: pytest.MonkeyPatch) -> str:
    """No ``pr_not_defined`` connection, and the default chain's DynamoDB endpoint refuses connections."""
    monkeypatch.delenv(f"AIRFLOW_CONN_{MISSING.upper()}", raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", closed)
    monkeypatch.setenv("DYNAMODB_MAX_ATTEMPTS", "1")
    return closed


def _assert_names_the_connection(exc: BaseException) -> None:
    assert isinstance(exc, ConfigurationError), f"{type(exc).__name__}: {exc}"
    assert f"{MISSING!r}" in str(exc)
    assert "does not exist" in str(exc)


def test_the_hook_refuses_a_missing_named_connection(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    hook = PipelineRegistryHook(aws_conn_id=MISSING)
    for attribute in ("conn_config", "registry_config", "user_timezone", "conn", "registry"):
        with pytest.raises(ConfigurationError) as info:
            getattr(PipelineRegistryHook(aws_conn_id=MISSING), attribute)
        _assert_names_the_connection(info.value)
    with pytest.raises(ConfigurationError) as info:
        hook.trigger_kwargs()
    _assert_names_the_connection(info.value)
    ok, message = hook.test_connection()
    assert not ok
    assert MISSING in message
    assert "does not exist" in message
    captured = capsys.readouterr()
    assert AMAZON_FALLBACK not in captured.out + captured.err + caplog.text


def test_a_defined_named_connection_of_either_type_resolves(
    registry_hook: PipelineRegistryHook, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Defined under the id, as ``aws`` or as the provider's own type: read as before (no false alarm)."""
    import os

    assert registry_hook.aws_conn_id is not None
    conn = json.loads(os.environ[f"AIRFLOW_CONN_{registry_hook.aws_conn_id.upper()}"])
    for conn_type in ("aws", "pipeline_registry"):
        monkeypatch.setenv(f"AIRFLOW_CONN_{MISSING.upper()}", json.dumps({**conn, "conn_type": conn_type}))
        hook = PipelineRegistryHook(aws_conn_id=MISSING)
        assert hook.registry_config.table_prefix == registry_hook.registry_config.table_prefix
        ok, message = hook.test_connection()
        assert ok, message


def test_the_default_id_keeps_the_amazon_fallback(
    monkeypatch: pytest.MonkeyPatch,
    dynamodb_endpoint: str,
    unique_prefix: str,
) -> None:
    """No ``aws_default`` connection: the default credential chain and the ``DYNAMODB_*`` environment."""
    monkeypatch.delenv("AIRFLOW_CONN_AWS_DEFAULT", raising=False)
    monkeypatch.setenv("DYNAMODB_ENDPOINT_URL", dynamodb_endpoint)
    monkeypatch.setenv("DYNAMODB_TABLE_PREFIX", unique_prefix)
    for hook in (PipelineRegistryHook(), PipelineRegistryHook(aws_conn_id=None)):
        config = hook.registry_config
        assert (config.endpoint_url, config.table_prefix) == (dynamodb_endpoint, unique_prefix)
        assert hook.registry.tables_status()  # a real call through the default credential chain
    # amazon's own "Unable to find AWS Connection ID" line is not asserted: where it goes depends on
    # the logging Airflow configured in this worker (2.11's airflow.task logger does not propagate
    # once a dag.test() ran in the same process), so asserting it made the test order-dependent.


@pytest.mark.parametrize("run_id", ["run-1", None], ids=["run-id", "latest-run"])
def test_the_trigger_fails_at_once_naming_the_connection(run_id: str | None) -> None:
    trigger = PipelineRunStateTrigger(
        pipeline_id="orders_daily",
        run_id=run_id,
        end_at=utc_now() + timedelta(hours=1),
        poke_interval=0.1,
        hook_kwargs={"aws_conn_id": MISSING},
    )

    async def first() -> dict[str, Any]:
        async for event in trigger.run():
            return dict(event.payload)
        raise AssertionError("no event")

    event = asyncio.run(asyncio.wait_for(first(), timeout=30))
    assert event["status"] == "error"
    assert event["fatal"] is True
    assert event["error_class"] == "ConfigurationError"
    assert f"{MISSING!r}" in event["message"]


@pytest.mark.needs("airflow-3")  # the plugin's FastAPI app (Airflow 3.1+)
def test_the_ui_plugins_registry_refuses_a_missing_named_connection() -> None:
    from airflow_provider_pipeline_registry.plugins.app import hook_registry_factory

    with pytest.raises(ConfigurationError) as info:
        hook_registry_factory(MISSING)()
    _assert_names_the_connection(info.value)


@pytest.fixture(scope="module")
def dags(airflow_db: Any) -> ModuleType:
    return load_dag_module("missing_connection_dags.py")


def test_dag_tasks_and_callback_fail_naming_the_missing_connection(
    dags: ModuleType, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    """Under ``dag.test()``: the operator and the sensor fail at once, the failure callback logs the
    same error; nothing falls back to the default credential chain."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    caplog.set_level(logging.INFO)
    dr = dags.missing_conn_dag.test()
    with create_session() as session:
        tis = session.scalars(
            select(TaskInstance).where(TaskInstance.dag_id == dr.dag_id, TaskInstance.run_id == dr.run_id)
        ).all()
        states = {ti.task_id: str(getattr(ti.state, "value", ti.state)) for ti in tis}
    assert states == {"load": "failed", "wait": "failed"}
    captured = capsys.readouterr()
    text = captured.out + captured.err + caplog.text
    assert text.count(f"the Airflow connection {MISSING!r} (aws_conn_id) does not exist") >= 3, text[-4000:]
    assert "pipeline-registry callback could not record FAILED" in text
    assert AMAZON_FALLBACK not in text

"""``PipelineRegistryHook`` against DynamoDB Local, configured through ``AIRFLOW_CONN_<ID>`` JSON variables."""

from __future__ import annotations

import importlib
import json
import logging
import os
import socket
import subprocess
import sys
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from settings_samples import NON_DEFAULTS

from airflow_provider_pipeline_registry.hooks.pipeline_registry import (
    PipelineRegistryHook,
    registry_settings_from_extras,
)
from airflow_provider_pipeline_registry.registry.config import DynamoDBConfig
from airflow_provider_pipeline_registry.registry.errors import (
    AccessDeniedError,
    ConfigurationError,
    RegistryConnectionError,
    ValidationError,
)
from airflow_provider_pipeline_registry.registry.run_logs.models import RunStatus
from airflow_provider_pipeline_registry.registry.settings import SETTINGS, hook_args_of

pytestmark = [pytest.mark.airflow, pytest.mark.integration]

USER_TZ = "America/New_York"


def _connection(conn_id: str) -> dict[str, Any]:
    conn: dict[str, Any] = json.loads(os.environ[f"AIRFLOW_CONN_{conn_id.upper()}"])
    return conn


def _redefine(monkeypatch: pytest.MonkeyPatch, conn_id: str, **changes: Any) -> dict[str, Any]:
    """Change the test connection: top-level fields, and ``extra`` merged key by key (None removes)."""
    conn = _connection(conn_id)
    for key, value in changes.pop("extra", {}).items():
        if value is None:
            conn["extra"].pop(key, None)
        else:
            conn["extra"][key] = value
    conn.update(changes)
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
    return conn


def _secrets(conn_id: str) -> tuple[str, str]:
    conn = _connection(conn_id)
    return conn["login"], conn["password"]


@pytest.fixture
def silent_endpoint() -> Iterator[str]:
    """A port that accepts TCP connections (kernel backlog) but never answers."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        yield f"http://127.0.0.1:{server.getsockname()[1]}"


@pytest.fixture
def closed_endpoint() -> str:
    """A local port nothing listens on (connection refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# -- settings ----------------------------------------------------------------------------------------
def test_registry_settings_from_extras_skip_blanks_and_read_form_keys() -> None:
    extras = {
        "table_prefix": " dev_ ",
        "user_timezone": "",
        "extra__pipeline_registry__user_timezone": "Europe/Paris",
        "extra__pipeline_registry__run_logs_table": "runs",
        "role_arn": "arn:aws:iam::123456789012:role/x",
    }
    assert registry_settings_from_extras(extras) == {
        "table_prefix": "dev_",
        "user_timezone": "Europe/Paris",
        "run_logs_table": "runs",
    }


def test_constructor_beats_extras_beats_environment_beats_defaults(
    registry_conn_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DYNAMODB_TABLE_PREFIX", "envprefix_")
    monkeypatch.setenv("DYNAMODB_RUN_LOGS_TABLE", "env_runs")
    monkeypatch.setenv("DYNAMODB_USER_TIMEZONE", "Asia/Tokyo")
    prefix = _connection(registry_conn_id)["extra"]["table_prefix"]

    config = PipelineRegistryHook(aws_conn_id=registry_conn_id, user_timezone="Europe/Paris").registry_config
    assert config.user_timezone == "Europe/Paris"  # constructor
    assert config.table_prefix == prefix  # connection extra over DYNAMODB_TABLE_PREFIX
    assert config.table_name("pipeline_run_logs") == f"{prefix}env_runs"  # environment
    assert config.table_name("table_config") == f"{prefix}table_config"  # default

    assert PipelineRegistryHook(aws_conn_id=registry_conn_id).user_timezone == ZoneInfo(USER_TZ)
    _redefine(monkeypatch, registry_conn_id, extra={"user_timezone": None})
    assert PipelineRegistryHook(aws_conn_id=registry_conn_id).user_timezone == ZoneInfo("Asia/Tokyo")
    monkeypatch.delenv("DYNAMODB_USER_TIMEZONE")
    assert PipelineRegistryHook(aws_conn_id=registry_conn_id).user_timezone == UTC


def test_endpoint_and_region_come_from_the_aws_connection(registry_conn_id: str, dynamodb_endpoint: str) -> None:
    hook = PipelineRegistryHook(aws_conn_id=registry_conn_id, region_name="eu-west-1")
    assert hook.registry_config.endpoint_url == dynamodb_endpoint.rstrip("/")
    assert hook.registry_config.region == "eu-west-1"
    assert hook.conn.meta.region_name == "eu-west-1"
    assert hook.conn.meta.endpoint_url == dynamodb_endpoint.rstrip("/")


def test_bad_registry_extra_is_a_configuration_error_naming_connection_and_field(
    registry_conn_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _redefine(monkeypatch, registry_conn_id, extra={"user_timezone": "Mars/Olympus_Mons"})
    with pytest.raises(ConfigurationError) as excinfo:
        PipelineRegistryHook(aws_conn_id=registry_conn_id).registry_config  # noqa: B018
    assert registry_conn_id in str(excinfo.value)
    assert "user_timezone" in str(excinfo.value)


def test_client_has_bounded_timeouts_and_the_registrys_botocore_retries(
    registry_conn_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _redefine(
        monkeypatch,
        registry_conn_id,
        extra={
            "connect_timeout": "2",
            "read_timeout": 7,
            "max_attempts": "5",
            "retry_mode": "adaptive",
            # a typical aws connection asks botocore for 10 attempts; the registry's settings win
            "config_kwargs": {"retries": {"mode": "standard", "max_attempts": 10}, "user_agent_extra": "team-x"},
        },
    )
    client_config = PipelineRegistryHook(aws_conn_id=registry_conn_id).conn.meta.config
    assert (client_config.connect_timeout, client_config.read_timeout) == (2, 7)
    assert client_config.retries == {"mode": "adaptive", "total_max_attempts": 5}
    assert "team-x" in client_config.user_agent_extra


def test_pipeline_registry_connection_type_reads_form_fields_without_aws_warning(
    registry_conn_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn = _connection(registry_conn_id)
    extra = {k: v for k, v in conn["extra"].items() if k != "table_prefix"}
    extra["extra__pipeline_registry__table_prefix"] = "form_"
    _redefine(monkeypatch, registry_conn_id, conn_type="pipeline_registry", extra={**extra, "table_prefix": None})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        hook = PipelineRegistryHook(aws_conn_id=registry_conn_id)
        ok, message = hook.test_connection()
    assert hook.registry_config.table_name("pipeline_config") == "form_pipeline_config"
    assert not ok
    assert "form_pipeline_config" in message
    assert not [w for w in caught if "expected connection type 'aws'" in str(w.message)]


# -- tables and domains --------------------------------------------------------------------------------
def test_hook_creates_the_tables_idempotently_and_test_connection_sees_them(registry_conn_id: str) -> None:
    hook = PipelineRegistryHook(aws_conn_id=registry_conn_id)
    names = list(hook.registry_config.describe()["tables"].values())
    ok, message = hook.test_connection()
    assert not ok
    assert all(name in message for name in names)
    assert "missing tables" in message
    try:
        assert hook.create_tables() == dict.fromkeys(names, True)
        assert hook.create_tables() == dict.fromkeys(names, False)
        ok, message = hook.test_connection()
        assert ok, message
        assert all(name in message for name in names)
    finally:
        for name in names:
            hook.conn.delete_table(TableName=name)


def test_test_connection_names_the_one_missing_table(registry_hook: PipelineRegistryHook) -> None:
    tables = registry_hook.registry_config.describe()["tables"]
    registry_hook.conn.delete_table(TableName=tables["pipeline_run_logs"])
    ok, message = registry_hook.test_connection()
    assert not ok
    missing = message.split("missing tables: ", 1)[1].split(" ", 1)[0]
    assert missing == tables["pipeline_run_logs"]


def test_hook_reads_and_writes_each_domain_over_one_client(registry_hook: PipelineRegistryHook) -> None:
    hook = registry_hook
    apis = (hook.pipelines, hook.pipelines_write, hook.tables, hook.tables_write, hook.runs, hook.runs_write)
    assert {id(api.gateway.client) for api in apis} == {id(hook.conn)}

    hook.pipelines_write.create({"pipeline_id": "orders", "name": "Orders", "owner": "data-eng"})
    assert hook.pipelines.get_by_id("orders").owner == "data-eng"

    hook.tables_write.create({"table_id": "orders_raw", "pipeline_id": "orders", "table_name": "orders_raw"})
    assert [t.table_id for t in hook.tables.list_by_pipeline("orders")] == ["orders_raw"]

    start = datetime(2026, 3, 8, 6, 59, 30, tzinfo=UTC)  # 01:59:30 EST, just before the DST jump
    hook.runs_write.start({"run_id": "r1", "pipeline_id": "orders", "start_time": start})
    hook.runs_write.finish({"run_id": "r1", "pipeline_id": "orders", "status": "SUCCESS"})
    view = hook.runs.get_by_id("r1", "orders", consistent=True)
    assert view.status is RunStatus.SUCCESS
    # views are shown in the connection's user timezone
    assert view.display_timezone == USER_TZ
    assert view.start_time.utcoffset() == timedelta(hours=-5)  # EST
    assert view.start_time.strftime("%H:%M:%S") == "01:59:30"
    assert view.start_time == start


def test_describe_registry(registry_hook: PipelineRegistryHook, dynamodb_endpoint: str) -> None:
    description = registry_hook.describe_registry()
    prefix = registry_hook.registry_config.table_prefix
    assert description["endpoint_url"] == dynamodb_endpoint.rstrip("/")
    assert description["region"] == "us-east-1"
    assert description["user_timezone"] == USER_TZ
    assert description["tables"] == {
        "pipeline_config": f"{prefix}pipeline_config",
        "table_config": f"{prefix}table_config",
        "pipeline_run_logs": f"{prefix}pipeline_run_logs",
        "table_watermarks": f"{prefix}table_watermarks",
    }


# -- unreachable endpoints -------------------------------------------------------------------------
@pytest.mark.timeout(60)
def test_refused_endpoint_gives_a_clear_error(
    registry_conn_id: str, monkeypatch: pytest.MonkeyPatch, closed_endpoint: str
) -> None:
    _redefine(monkeypatch, registry_conn_id, extra={"endpoint_url": closed_endpoint, "max_attempts": 2})
    hook = PipelineRegistryHook(aws_conn_id=registry_conn_id)
    with pytest.raises(RegistryConnectionError) as excinfo:
        hook.pipelines.find_by_id("orders")
    assert f"cannot reach DynamoDB at {closed_endpoint}" in str(excinfo.value)
    assert "after 2 attempts" in str(excinfo.value)
    ok, message = hook.test_connection()
    assert not ok
    assert f"cannot reach DynamoDB at {closed_endpoint}" in message


@pytest.mark.timeout(60)  # botocore's defaults (60 s read timeout, several retries) would exceed this
def test_silent_endpoint_times_out_instead_of_hanging(
    registry_conn_id: str, monkeypatch: pytest.MonkeyPatch, silent_endpoint: str
) -> None:
    _redefine(
        monkeypatch,
        registry_conn_id,
        extra={"endpoint_url": silent_endpoint, "read_timeout": 1, "connect_timeout": 1, "max_attempts": 2},
    )
    hook = PipelineRegistryHook(aws_conn_id=registry_conn_id)
    with pytest.raises(RegistryConnectionError) as excinfo:
        hook.tables.find_by_id("orders_raw")
    assert "ReadTimeoutError" in str(excinfo.value)


# -- hand-off to the triggerer ---------------------------------------------------------------------
def test_trigger_kwargs_rebuild_an_equivalent_hook(registry_hook: PipelineRegistryHook) -> None:
    hook = PipelineRegistryHook(
        aws_conn_id=registry_hook.aws_conn_id,
        verify=False,
        config={"user_agent_extra": "team-x", "connect_timeout": 3},
        table_prefix=registry_hook.registry_config.table_prefix,
        user_timezone="Europe/Paris",
    )
    kwargs = hook.trigger_kwargs()
    assert json.loads(json.dumps(kwargs)) == kwargs  # serializable as is
    assert kwargs["verify"] is False
    assert kwargs["config"] == {"user_agent_extra": "team-x", "connect_timeout": 3}

    rebuilt = PipelineRegistryHook(**kwargs)
    assert rebuilt.registry_config == hook.registry_config
    assert rebuilt.verify is False
    rebuilt_client, client = rebuilt.conn.meta.config, hook.conn.meta.config
    assert (rebuilt_client.connect_timeout, rebuilt_client.read_timeout, rebuilt_client.retries) == (
        client.connect_timeout,
        client.read_timeout,
        client.retries,
    )
    assert rebuilt.test_connection()[0]


# -- no credentials anywhere -----------------------------------------------------------------------
def test_credentials_never_appear_in_repr_description_messages_errors_or_logs(
    registry_hook: PipelineRegistryHook,
    registry_conn_id: str,
    monkeypatch: pytest.MonkeyPatch,
    closed_endpoint: str,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from botocore.stub import Stubber

    # our loggers and the amazon provider's at DEBUG; botocore's own DEBUG output (raw signed
    # request headers) is botocore's business and off in any sane deployment
    caplog.set_level(logging.INFO)
    for logger in ("airflow_provider_pipeline_registry", "airflow.task.hooks", "airflow.providers.amazon"):
        caplog.set_level(logging.DEBUG, logger=logger)
    access_key, secret = _secrets(registry_conn_id)
    texts = [repr(registry_hook), str(registry_hook.describe_registry())]
    texts += [json.dumps(registry_hook.trigger_kwargs()), registry_hook.test_connection()[1]]

    # an AWS error that quotes the signing credential (as InvalidSignatureException does)
    hook = PipelineRegistryHook(aws_conn_id=registry_conn_id)
    texts.append(repr(hook))
    scope = f"Credential={access_key}/20260308/us-east-1/dynamodb/aws4_request"
    with Stubber(hook.conn) as stub:
        stub.add_client_error("describe_table", "InvalidSignatureException", f"bad signature. {scope}", 400)
        stub.add_client_error("get_item", "InvalidSignatureException", f"bad signature. {scope}", 400)
        ok, denied_message = hook.test_connection()
        with pytest.raises(AccessDeniedError) as denied:
            hook.pipelines.find_by_id("orders")
    assert not ok
    # the controls reached the check: AWS's text is there, its credential is masked
    for text in (denied_message, str(denied.value)):
        assert "bad signature" in text
        assert "Credential=***" in text
    texts += [denied_message, str(denied.value)]

    _redefine(monkeypatch, registry_conn_id, extra={"endpoint_url": closed_endpoint, "max_attempts": 1})
    unreachable = PipelineRegistryHook(aws_conn_id=registry_conn_id)
    with pytest.raises(RegistryConnectionError) as refused:
        unreachable.runs.find_by_id("r1", "orders")
    texts += [str(refused.value), repr(unreachable), unreachable.test_connection()[1]]

    captured = capsys.readouterr()
    texts += [caplog.text, captured.out, captured.err]
    for text in texts:
        assert access_key not in text
        assert secret not in text


# -- every declared setting reaches every surface ----------------------------------------------------
def _expected() -> DynamoDBConfig:
    return DynamoDBConfig(**NON_DEFAULTS)


def _all_extras(*, as_text: bool = False, legacy_keys: bool = False) -> dict[str, Any]:
    extras: dict[str, Any] = {}
    for setting in SETTINGS:
        value = NON_DEFAULTS[setting.name]
        key = setting.extra
        if legacy_keys and setting.read_by == "registry":
            key = f"extra__pipeline_registry__{key}"
        extras[key] = str(value) if as_text else value
    return extras


def test_the_samples_cover_every_declared_setting() -> None:
    assert set(NON_DEFAULTS) == {s.name for s in SETTINGS}
    assert all(NON_DEFAULTS[s.name] != s.default for s in SETTINGS)


@pytest.mark.parametrize(("as_text", "legacy_keys"), [(False, False), (True, False), (True, True)])
def test_every_setting_is_read_from_the_connection_extras(
    registry_conn_id: str, monkeypatch: pytest.MonkeyPatch, as_text: bool, legacy_keys: bool
) -> None:
    # the fixture's plain keys removed (a plain key wins over its legacy form key)
    extras = {**dict.fromkeys(_all_extras()), **_all_extras(as_text=as_text, legacy_keys=legacy_keys)}
    _redefine(monkeypatch, registry_conn_id, extra=extras)
    assert PipelineRegistryHook(aws_conn_id=registry_conn_id).registry_config == _expected()


def test_every_setting_is_read_from_the_environment_when_the_connection_has_none(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for var, value in _expected().to_env().items():
        monkeypatch.setenv(var, value)
    monkeypatch.setenv("AIRFLOW_CONN_PR_BARE", json.dumps({"conn_type": "aws"}))
    assert PipelineRegistryHook(aws_conn_id="pr_bare").registry_config == _expected()


def test_every_setting_is_a_hook_argument_that_wins_over_extras_and_environment(
    registry_conn_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for var, value in DynamoDBConfig(environment="prod", max_attempts=9, run_log_retention_days=7).to_env().items():
        monkeypatch.setenv(var, value)
    hook = PipelineRegistryHook(aws_conn_id=registry_conn_id, **hook_args_of(NON_DEFAULTS))
    assert hook.registry_config == _expected()
    with pytest.raises(TypeError, match=r"max_attempt\b"):
        PipelineRegistryHook(aws_conn_id=registry_conn_id, max_attempt=3)  # type: ignore[call-arg]


def test_every_setting_survives_the_trigger_hand_off(registry_conn_id: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow_provider_pipeline_registry.triggers.pipeline_registry import PipelineRunStateTrigger

    _redefine(monkeypatch, registry_conn_id, extra=_all_extras())
    hook = PipelineRegistryHook(aws_conn_id=registry_conn_id)
    trigger = PipelineRunStateTrigger(pipeline_id="orders", end_at=datetime.now(UTC), hook_kwargs=hook.trigger_kwargs())
    classpath, kwargs = trigger.serialize()
    kwargs = json.loads(json.dumps(kwargs))
    assert set(kwargs["hook_kwargs"]) == {"aws_conn_id", "verify", "config"} | {s.hook_arg for s in SETTINGS}

    # the triggerer: the connection lost its registry extras and the environment says otherwise
    _redefine(monkeypatch, registry_conn_id, extra=dict.fromkeys(_all_extras()))
    for var, value in DynamoDBConfig(environment="prod", max_attempts=9, run_log_retention_days=7).to_env().items():
        monkeypatch.setenv(var, value)
    module_name, _, class_name = classpath.rpartition(".")
    rebuilt = getattr(importlib.import_module(module_name), class_name)(**kwargs)
    assert rebuilt._get_hook().registry_config == _expected()


def test_a_trigger_refuses_hook_kwargs_the_hook_does_not_take() -> None:
    from airflow_provider_pipeline_registry.triggers.pipeline_registry import PipelineRunStateTrigger

    with pytest.raises(ValidationError, match=r"max_attempt\b"):
        PipelineRunStateTrigger(
            pipeline_id="orders", end_at=datetime.now(UTC), hook_kwargs={"aws_conn_id": "x", "max_attempt": 3}
        )


# -- the hook arguments shared by the operators, the sensor and the callbacks ------------------------
def _own_and_other(args: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    own = {k: args.pop(k) for k in ("region_name", "table_prefix", "user_timezone")}
    return own, args


def _load_operator(**args: Any) -> Any:
    from airflow_provider_pipeline_registry.operators.pipeline_registry import LoadPipelineConfigOperator

    return LoadPipelineConfigOperator(task_id="load", pipeline_id="orders", **args)


def _end_operator(**args: Any) -> Any:
    from airflow_provider_pipeline_registry.operators.pipeline_registry import EndPipelineRunOperator

    return EndPipelineRunOperator(task_id="end", pipeline_id="orders", **args)


def _sensor(**args: Any) -> Any:
    from airflow_provider_pipeline_registry.sensors.pipeline_registry import PipelineRunStateSensor

    return PipelineRunStateSensor(task_id="wait", pipeline_id="orders", run_id="r1", **args)


def _callback(**args: Any) -> Any:
    from airflow_provider_pipeline_registry.callbacks import record_run_failure

    return record_run_failure(pipeline_id="orders", **args)


def _notifier(**args: Any) -> Any:
    from airflow_provider_pipeline_registry.notifications import PipelineRunSuccessNotifier

    return PipelineRunSuccessNotifier(pipeline_id="orders", **args)


HOOK_OWNERS = [_load_operator, _end_operator, _sensor, _callback, _notifier]


@pytest.mark.parametrize("make", HOOK_OWNERS, ids=lambda f: f.__name__.strip("_"))
def test_operators_sensor_and_callbacks_pass_every_setting_to_the_hook(registry_conn_id: str, make: Any) -> None:
    owner = make(
        aws_conn_id=registry_conn_id,
        verify=False,
        botocore_config={"user_agent_extra": "team-x"},
        **hook_args_of(NON_DEFAULTS),
    )
    hook = owner.build_hook()
    assert hook.registry_config == _expected()
    assert hook.verify is False
    assert hook.trigger_kwargs()["config"] == {"user_agent_extra": "team-x"}


@pytest.mark.parametrize("make", HOOK_OWNERS[:3], ids=lambda f: f.__name__.strip("_"))
def test_operators_and_sensor_template_the_connection_arguments(
    registry_hook: PipelineRegistryHook, registry_conn_id: str, monkeypatch: pytest.MonkeyPatch, make: Any
) -> None:
    prefix = registry_hook.registry_config.table_prefix
    _redefine(monkeypatch, registry_conn_id, extra={"table_prefix": "wrong_", "region_name": "eu-west-1"})
    task = make(aws_conn_id="{{ params.conn }}", region_name="{{ params.region }}", table_prefix="{{ params.prefix }}")
    assert {"aws_conn_id", "region_name", "table_prefix", "pipeline_id"} <= set(task.template_fields)
    task.render_template_fields({"params": {"conn": registry_conn_id, "region": "us-east-1", "prefix": prefix}})
    assert (task.hook.aws_conn_id, task.hook.registry_config.region) == (registry_conn_id, "us-east-1")
    assert task.hook.test_connection()[0]  # the tables of the rendered prefix exist


@pytest.mark.parametrize("setting", ["True", "False", None])
def test_the_sensor_defers_by_default_when_operators_default_deferrable_says_so(setting: str | None) -> None:
    code = (
        "from airflow_provider_pipeline_registry.sensors.pipeline_registry import PipelineRunStateSensor\n"
        "print(PipelineRunStateSensor(task_id='w', pipeline_id='p').deferrable)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE"}
    if setting is not None:
        env["AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE"] = setting
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False, env=env
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == str(setting == "True")


@pytest.mark.parametrize("make", HOOK_OWNERS, ids=lambda f: f.__name__.strip("_"))
def test_a_misspelt_setting_is_refused_where_it_is_given(make: Any) -> None:

    if make in (_callback, _notifier):  # refused when the DAG is parsed, naming the setting
        with pytest.raises(ValidationError, match="'max_attemps' is not a registry setting"):
            make(max_attemps=3)
    else:  # Airflow refuses an unknown operator argument itself (TypeError; Airflow 2: AirflowException)
        from airflow_provider_pipeline_registry.compat import AirflowException

        with pytest.raises((TypeError, AirflowException), match="max_attemps"):
            make(max_attemps=3)


def test_the_old_registry_settings_spelling_of_the_callbacks_still_works_and_warns() -> None:
    """One spelling (keyword arguments named as the hook's); ``registry_settings={...}`` of the old
    callback names is a deprecated alias of it."""
    from airflow.exceptions import AirflowProviderDeprecationWarning

    from airflow_provider_pipeline_registry.callbacks import (
        record_run_failure,
        record_run_success,
        resolve_pipeline_secrets,
    )

    for factory in (record_run_failure, record_run_success, resolve_pipeline_secrets):
        with pytest.warns(AirflowProviderDeprecationWarning, match=r"max_attempts=3"):
            old = factory(pipeline_id="orders", table_prefix="x_", registry_settings={"max_attempts": 3})
        new = factory(pipeline_id="orders", table_prefix="x_", max_attempts=3)
        assert old.hook_parameters == new.hook_parameters
        assert new.hook_parameters["max_attempts"] == 3
    with pytest.warns(AirflowProviderDeprecationWarning), pytest.raises(ValidationError, match="'max_attemps'"):
        record_run_failure(pipeline_id="orders", registry_settings={"max_attemps": 3})
    with (
        pytest.warns(AirflowProviderDeprecationWarning),
        pytest.raises(ValidationError, match="pass 'table_prefix' as its own argument"),
    ):
        record_run_failure(pipeline_id="orders", registry_settings={"table_prefix": "x_"})
    with pytest.warns(AirflowProviderDeprecationWarning), pytest.raises(ValidationError, match="given twice"):
        record_run_failure(pipeline_id="orders", max_attempts=2, registry_settings={"max_attempts": 3})

"""DynamoDBConfig: validation at construction, environment variables, table names."""

from __future__ import annotations

import pickle
from typing import Literal
from zoneinfo import ZoneInfo

import pytest
from docs.doc_pages import marked_region
from pydantic import BaseModel
from settings_samples import NON_DEFAULTS

from airflow_provider_pipeline_registry.registry import ConfigurationError, DynamoDBConfig, PipelineRunLogger
from airflow_provider_pipeline_registry.registry.config import declaration_mismatches
from airflow_provider_pipeline_registry.registry.run_env import run_logger_env
from airflow_provider_pipeline_registry.registry.settings import SETTINGS, SETTINGS_BY_NAME, Setting, settings_table


def test_defaults() -> None:
    config = DynamoDBConfig()
    assert config.region == "us-east-1"
    assert config.endpoint_url is None
    assert config.table_name("pipeline_config") == "pipeline_config"
    assert config.table_name("table_config") == "table_config"
    assert config.table_name("pipeline_run_logs") == "pipeline_run_logs"
    assert config.user_timezone == "UTC"
    assert config.run_log_retention_days is None


def test_unknown_timezone_fails_at_construction() -> None:
    with pytest.raises(ConfigurationError, match="user_timezone") as info:
        DynamoDBConfig(user_timezone="Europe/Atlantis")
    assert "unknown timezone" in str(info.value)
    with pytest.raises(ConfigurationError):
        DynamoDBConfig(user_timezone="")
    assert DynamoDBConfig(user_timezone="Asia/Kolkata").tzinfo == ZoneInfo("Asia/Kolkata")


@pytest.mark.parametrize(
    "endpoint", ["localhost:8000", "ftp://host", "http://", "http://host name:80", "http://h:123456"]
)
def test_bad_endpoint_is_refused(endpoint: str) -> None:
    with pytest.raises(ConfigurationError, match="endpoint_url"):
        DynamoDBConfig(endpoint_url=endpoint)


def test_endpoint_normalised() -> None:
    assert DynamoDBConfig(endpoint_url="http://localhost:8000/").endpoint_url == "http://localhost:8000"
    assert DynamoDBConfig(endpoint_url="").endpoint_url is None


@pytest.mark.parametrize("prefix", ["my prefix_", "dev/", "ünï_", "a;b"])
def test_bad_prefix_is_refused(prefix: str) -> None:
    with pytest.raises(ConfigurationError, match="table_prefix"):
        DynamoDBConfig(table_prefix=prefix)


def test_table_name_length_limits() -> None:
    with pytest.raises(ConfigurationError, match="3 to 255"):
        DynamoDBConfig(table_prefix="x" * 250)
    with pytest.raises(ConfigurationError, match="3 to 255"):
        DynamoDBConfig(pipeline_config_table="ab")


def test_other_malformed_values() -> None:
    with pytest.raises(ConfigurationError, match="max_attempts"):
        DynamoDBConfig(max_attempts=0)
    with pytest.raises(ConfigurationError, match="environment"):
        DynamoDBConfig(environment="qa")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="max_backoff_seconds"):
        DynamoDBConfig(base_backoff_seconds=2, max_backoff_seconds=1)
    with pytest.raises(ConfigurationError, match="unknown_option"):
        DynamoDBConfig(unknown_option=1)


@pytest.mark.parametrize("environment", ["dev", "staging", "prod"])
def test_environment_prefix(environment: str) -> None:
    config = DynamoDBConfig(environment=environment)  # type: ignore[arg-type]
    assert config.table_name("pipeline_config") == f"{environment}_pipeline_config"
    assert config.table_name("pipeline_run_logs") == f"{environment}_pipeline_run_logs"
    explicit = DynamoDBConfig(environment=environment, table_prefix="team_")  # type: ignore[arg-type]
    assert explicit.table_name("table_config") == "team_table_config"


def test_from_env_reads_the_documented_variables() -> None:
    config = DynamoDBConfig.from_env(
        {
            "DYNAMODB_ENDPOINT_URL": "http://localhost:8000",
            "AWS_REGION": "eu-west-1",
            "AWS_DEFAULT_REGION": "us-west-2",
            "DYNAMODB_TABLE_PREFIX": "qa_",
            "DYNAMODB_USER_TIMEZONE": "Europe/Paris",
            "DYNAMODB_RUN_LOG_RETENTION_DAYS": "30",
            "DYNAMODB_MAX_ATTEMPTS": "3",
        }
    )
    assert config.endpoint_url == "http://localhost:8000"
    assert config.region == "eu-west-1"  # AWS_REGION wins over AWS_DEFAULT_REGION
    assert config.table_name("pipeline_config") == "qa_pipeline_config"
    assert config.user_timezone == "Europe/Paris"
    assert config.run_log_retention_days == 30
    assert config.max_attempts == 3
    assert DynamoDBConfig.from_env({"AWS_DEFAULT_REGION": "us-west-2"}).region == "us-west-2"
    assert DynamoDBConfig.from_env({"DYNAMODB_ENVIRONMENT": "prod"}).table_name("table_config") == "prod_table_config"


def test_from_env_overrides_win_and_bad_values_fail() -> None:
    config = DynamoDBConfig.from_env({"DYNAMODB_TABLE_PREFIX": "qa_"}, table_prefix="ov_", region=None)
    assert config.table_prefix == "ov_"
    with pytest.raises(ConfigurationError, match="user_timezone"):
        DynamoDBConfig.from_env({"DYNAMODB_USER_TIMEZONE": "Not/AZone"})
    with pytest.raises(ConfigurationError, match="max_attempts"):
        DynamoDBConfig.from_env({"DYNAMODB_MAX_ATTEMPTS": "many"})


def test_from_env_uses_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DYNAMODB_ENDPOINT_URL", "http://127.0.0.1:9999")
    monkeypatch.setenv("DYNAMODB_USER_TIMEZONE", "Asia/Kolkata")
    monkeypatch.delenv("DYNAMODB_TABLE_PREFIX", raising=False)
    config = DynamoDBConfig.from_env()
    assert config.endpoint_url == "http://127.0.0.1:9999"
    assert config.user_timezone == "Asia/Kolkata"


def test_to_env_round_trip() -> None:
    config = DynamoDBConfig(
        region="eu-central-1",
        endpoint_url="http://localhost:8000",
        environment="staging",
        table_prefix="s_",
        run_logs_table="runs",
        user_timezone="America/New_York",
        max_attempts=4,
        base_backoff_seconds=0.2,
        max_backoff_seconds=3.0,
        connect_timeout=2.0,
        read_timeout=9.0,
        run_log_retention_days=90,
    )
    env = config.to_env()
    assert all(isinstance(v, str) for v in env.values())
    assert DynamoDBConfig.from_env(env) == config
    assert DynamoDBConfig.from_env(DynamoDBConfig().to_env()) == DynamoDBConfig()


def test_config_is_frozen_picklable_and_secret_free() -> None:
    config = DynamoDBConfig(endpoint_url="http://localhost:8000", environment="dev")
    assert pickle.loads(pickle.dumps(config)) == config
    with pytest.raises(Exception, match="frozen"):
        config.region = "x"  # type: ignore[misc]
    described = config.describe()
    assert described["tables"]["pipeline_config"] == "dev_pipeline_config"
    assert "secret" not in repr(config).lower()


# -- the one declaration of the settings ---------------------------------------------------------
def test_every_declared_setting_is_a_field_with_its_default_and_nothing_else_is() -> None:
    assert declaration_mismatches() == []
    assert set(NON_DEFAULTS) == set(SETTINGS_BY_NAME) == set(DynamoDBConfig.model_fields)
    for setting in SETTINGS:
        assert getattr(DynamoDBConfig(), setting.name) == setting.default


def test_a_model_that_drifts_from_the_declaration_is_reported() -> None:
    class Drifted(BaseModel):
        region: str = "us-east-1"
        endpoint_url: str | None = None
        environment: Literal["dev", "prod"] | None = None  # a choice missing
        table_prefix: str = ""
        pipeline_config_table: str = "pipeline_config"
        table_config_table: str = "table_config"
        run_logs_table: str = "pipeline_run_logs"
        user_timezone: str = "UTC"
        max_attempts: int = 5  # another default
        base_backoff_seconds: float = 0.05
        max_backoff_seconds: float = 5.0
        retry_mode: Literal["standard", "adaptive"] = "standard"
        connect_timeout: int = 5  # another type
        read_timeout: float = 30.0
        undeclared: int = 1  # not declared; run_log_retention_days missing

    problems = "\n".join(declaration_mismatches(Drifted))
    for name in ("environment", "max_attempts", "connect_timeout", "undeclared", "run_log_retention_days"):
        assert name in problems
    assert "read_timeout" not in problems


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_every_setting_is_read_from_its_environment_variables(setting: Setting) -> None:
    value = NON_DEFAULTS[setting.name]
    for var in setting.env_vars:
        assert getattr(DynamoDBConfig.from_env({var: str(value)}), setting.name) == value
    assert getattr(DynamoDBConfig.from_env({setting.env_var: ""}), setting.name) == setting.default


@pytest.mark.parametrize("setting", [s for s in SETTINGS if s.ge is not None or s.gt is not None], ids=lambda s: s.name)
def test_declared_bounds_are_enforced_with_an_error_naming_the_field(setting: Setting) -> None:
    low = setting.ge - 1 if setting.ge is not None else setting.gt
    with pytest.raises(ConfigurationError, match=setting.name):
        DynamoDBConfig(**{setting.name: low})
    assert setting.le is not None
    with pytest.raises(ConfigurationError, match=setting.name):
        DynamoDBConfig(**{setting.name: setting.le + 1})


def test_every_setting_reaches_the_run_logger_environment_and_back() -> None:
    config = DynamoDBConfig(**NON_DEFAULTS)
    env = run_logger_env(config, pipeline_id="p", run_id="r")
    for setting in SETTINGS:
        for var in setting.env_vars:
            assert env[var] == str(NON_DEFAULTS[setting.name]), var
    assert DynamoDBConfig.from_env(env) == config
    assert PipelineRunLogger.from_env(env).config == config


def test_choices_are_enforced() -> None:
    with pytest.raises(ConfigurationError, match="retry_mode"):
        DynamoDBConfig(retry_mode="sometimes")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="environment"):
        DynamoDBConfig.from_env({"DYNAMODB_ENVIRONMENT": "qa"})


def test_the_readme_settings_table_is_the_declarations() -> None:
    page, region = marked_region("settings-table")
    assert region.startswith("\n"), f"{page.name}: the table starts on the line after its start marker"
    table = region[1:]
    assert table == settings_table(), f"regenerate the table in {page.name} with registry.settings.settings_table()"
    for setting in SETTINGS:
        assert f"| `{setting.hook_arg}` | `{setting.name}` | " in table

"""The naming pass (issue 22): new names work, and every renamed public name still works as
written before (an alias of the same object, or a keyword with a DeprecationWarning)."""

from __future__ import annotations

import warnings

import pydantic
import pytest

from airflow_provider_pipeline_registry import registry as core
from airflow_provider_pipeline_registry.registry import (
    DynamoDBConfig,
    PipelineRunLogger,
    Registry,
    RegistryValidationError,
)
from airflow_provider_pipeline_registry.registry import errors as errors_module
from airflow_provider_pipeline_registry.registry.errors import CorruptItemError, ValidationError
from airflow_provider_pipeline_registry.registry.keys import build_model_key
from airflow_provider_pipeline_registry.registry.pipeline_config import PipelineConfig
from airflow_provider_pipeline_registry.registry.run_env import ATTEMPT_ID_ENV, PIPELINE_ID_ENV, RUN_ID_ENV

SETTINGS = DynamoDBConfig(endpoint_url="http://localhost:1", region="us-east-1")


def _logger(**kwargs: object) -> PipelineRunLogger:
    return PipelineRunLogger(pipeline_id="p", run_id="r", handle_sigterm=False, **kwargs)  # type: ignore[arg-type]


# -- RegistryValidationError (was ValidationError, which shadowed pydantic's) -------------------
def test_validation_error_is_an_alias_of_registry_validation_error_from_both_places() -> None:
    assert ValidationError is RegistryValidationError
    assert core.ValidationError is RegistryValidationError
    assert errors_module.ValidationError is RegistryValidationError
    assert "ValidationError" in core.__all__
    assert "RegistryValidationError" in core.__all__
    assert RegistryValidationError.__name__ == "RegistryValidationError"
    assert not issubclass(RegistryValidationError, pydantic.ValidationError)
    assert issubclass(CorruptItemError, RegistryValidationError)


def test_except_validation_error_still_catches_what_the_registry_raises() -> None:
    with pytest.raises(ValidationError) as caught:  # user code written against the old name
        build_model_key(PipelineConfig, pipeline_id="")
    assert type(caught.value) is RegistryValidationError
    assert caught.value.field == "pipeline_id"
    assert "RegistryValidationError" in repr(caught.value)


# -- opened_attempt_id (was attempt_id=, the attempt the start operator opened) ----------------
def test_opened_attempt_id_is_not_the_loggers_own_attempt_id() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        logger = _logger(settings=SETTINGS, opened_attempt_id="opened")
    assert logger.opened_attempt_id == "opened"
    assert logger.attempt_id is None  # its own, set when it joins the run


def test_attempt_id_keyword_is_a_deprecated_alias_of_opened_attempt_id() -> None:
    with pytest.warns(DeprecationWarning, match=r"PipelineRunLogger\(attempt_id=\.\.\.\).*opened_attempt_id=") as rec:
        logger = _logger(settings=SETTINGS, attempt_id="opened")
    assert rec[0].filename == __file__  # points at the caller's line
    assert logger.opened_attempt_id == "opened"
    assert logger.expected_attempt_id == "opened"  # the former attribute name, read-only alias
    assert logger.attempt_id is None
    with pytest.raises(RegistryValidationError, match="opened_attempt_id= only") as both:
        _logger(settings=SETTINGS, attempt_id="a", opened_attempt_id="b")
    assert both.value.field == "attempt_id"


def test_from_env_reads_the_opened_attempt_from_its_variable_without_a_warning() -> None:
    env = {PIPELINE_ID_ENV: "p", RUN_ID_ENV: "r", ATTEMPT_ID_ENV: "opened", **SETTINGS.to_env()}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        logger = PipelineRunLogger.from_env(env, handle_sigterm=False)
    assert (logger.opened_attempt_id, logger.attempt_id) == ("opened", None)
    assert logger.settings.endpoint_url == SETTINGS.endpoint_url
    with pytest.warns(DeprecationWarning, match=r"attempt_id=\.\.\.\) is deprecated"):
        overridden = PipelineRunLogger.from_env(env, attempt_id="given", handle_sigterm=False)
    assert overridden.opened_attempt_id == "given"  # a keyword wins over the environment, as before


# -- settings= (was config=: how the registry is reached, a DynamoDBConfig) ---------------------
def test_config_keyword_is_a_deprecated_alias_of_settings() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _logger(settings=SETTINGS).settings is SETTINGS
    with pytest.warns(DeprecationWarning, match=r"PipelineRunLogger\(config=\.\.\.\).*settings="):
        logger = _logger(config=SETTINGS)
    assert logger.settings is SETTINGS
    assert logger.config is SETTINGS  # the former attribute name, read-only alias
    assert logger.registry.config is SETTINGS
    with pytest.raises(RegistryValidationError, match="settings= only") as both:
        _logger(config=SETTINGS, settings=SETTINGS)
    assert both.value.field == "config"
    with pytest.warns(DeprecationWarning, match=r"config=\.\.\.\) is deprecated"):
        from_env = PipelineRunLogger.from_env({PIPELINE_ID_ENV: "p", RUN_ID_ENV: "r"}, config=SETTINGS)
    assert from_env.settings is SETTINGS


def test_a_registry_gives_the_logger_its_settings() -> None:
    registry = Registry(SETTINGS)
    assert _logger(registry=registry).settings is SETTINGS


# -- plugins.options (was plugins.settings: Airflow configuration options, not registry settings) --
def test_the_plugins_airflow_options_are_importable_from_their_former_module() -> None:
    from airflow_provider_pipeline_registry.plugins import options
    from airflow_provider_pipeline_registry.plugins import settings as former

    for name in former.__all__:
        assert getattr(former, name) is getattr(options, name), name
    assert set(former.__all__) >= {"SECTION", "URL_PREFIX", "UI_ROUTE", "aws_conn_id", "ui_enabled", "run_page_path"}
    assert options.SECTION == "pipeline_registry"

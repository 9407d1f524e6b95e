"""The ``batch_concurrency`` setting: its bounds, its sources, and the client pool derived from it."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.config import Config

from airflow_provider_pipeline_registry.registry import DynamoDBConfig
from airflow_provider_pipeline_registry.registry.errors import ConfigurationError
from airflow_provider_pipeline_registry.registry.gateway import TableGateway, botocore_config
from airflow_provider_pipeline_registry.registry.model import extract_model_metadata
from airflow_provider_pipeline_registry.registry.pipeline_config import PipelineConfig
from airflow_provider_pipeline_registry.registry.settings import SETTINGS_BY_NAME


def test_default_is_8_and_declared_once_with_its_extra_and_variable() -> None:
    setting = SETTINGS_BY_NAME["batch_concurrency"]
    assert (setting.default, setting.extra, setting.env_var, setting.hook_arg) == (
        8,
        "batch_concurrency",
        "DYNAMODB_BATCH_CONCURRENCY",
        "batch_concurrency",
    )
    assert DynamoDBConfig().batch_concurrency == 8
    assert DynamoDBConfig.from_env({"DYNAMODB_BATCH_CONCURRENCY": "3"}).batch_concurrency == 3
    assert DynamoDBConfig(batch_concurrency=3).to_env()["DYNAMODB_BATCH_CONCURRENCY"] == "3"


@pytest.mark.parametrize("value", [0, -1, 65, "many", 2.5])
def test_a_bad_value_is_a_configuration_error_naming_the_setting(value: Any) -> None:
    with pytest.raises(ConfigurationError, match="batch_concurrency"):
        DynamoDBConfig(batch_concurrency=value)


def test_a_bad_environment_value_names_the_setting() -> None:
    with pytest.raises(ConfigurationError, match="batch_concurrency"):
        DynamoDBConfig.from_env({"DYNAMODB_BATCH_CONCURRENCY": "0"})


@pytest.mark.parametrize(("concurrency", "pool"), [(1, 32), (8, 32), (32, 32), (64, 64)])
def test_the_client_pool_holds_at_least_one_connection_per_chunk_in_flight(concurrency: int, pool: int) -> None:
    assert botocore_config(DynamoDBConfig(batch_concurrency=concurrency)).max_pool_connections == pool


def test_a_smaller_pool_given_as_base_is_raised_to_the_concurrency() -> None:
    config = DynamoDBConfig(batch_concurrency=16)
    assert botocore_config(config, base=Config(max_pool_connections=4)).max_pool_connections == 16
    assert botocore_config(config, base=Config()).max_pool_connections == 16  # botocore's default is 10
    assert botocore_config(config, base=Config(max_pool_connections=50)).max_pool_connections == 50


def test_workers_are_bounded_by_the_setting_the_chunks_and_a_client_pool_handed_in() -> None:
    def workers(concurrency: int, chunks: int, pool: int) -> int:
        client = boto3.client(
            "dynamodb",
            region_name="us-east-1",
            endpoint_url="http://127.0.0.1:1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(max_pool_connections=pool),
        )
        config = DynamoDBConfig(batch_concurrency=concurrency)
        return TableGateway(client, "t", extract_model_metadata(PipelineConfig), config).batch_workers(chunks)

    assert workers(8, 400, 32) == 8
    assert workers(8, 3, 32) == 3
    assert workers(8, 0, 32) == 1
    assert workers(8, 400, 4) == 4  # never more threads than pooled connections
    assert workers(1, 400, 32) == 1

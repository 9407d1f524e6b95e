"""Compatibility shim: the launcher lives in ``airflow_provider_pipeline_registry.testing``."""

from airflow_provider_pipeline_registry.testing.dynamodb_local import *  # noqa: F403
from airflow_provider_pipeline_registry.testing.dynamodb_local import (  # noqa: F401
    DynamoDBLocal,
    DynamoDBLocalError,
    find_dynamodb_local_jar,
    find_free_port,
    port_is_free,
)

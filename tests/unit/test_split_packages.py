"""``registry.gateway`` and ``registry.run_logger`` are packages split by job (issue 22): what
callers imported from the former modules still imports from the same path, and the run logger's
records keep the logger name users configure logging for."""

from __future__ import annotations

import importlib
import logging
from typing import Any

import pytest

from airflow_provider_pipeline_registry.registry import run_env
from airflow_provider_pipeline_registry.registry.run_logger import spark_identity

#: every public name of the former gateway.py and run_logger.py, plus the private ones tests import
FORMER_NAMES = {
    "airflow_provider_pipeline_registry.registry.gateway": (
        "ACCESS_CODES",
        "BATCH_GET_LIMIT",
        "BATCH_WRITE_LIMIT",
        "BOTOCORE_DEFAULT_POOL",
        "DEFAULT_POOL_CONNECTIONS",
        "RETRYABLE_CODES",
        "TRANSACT_BYTES",
        "TRANSACT_LIMIT",
        "TRANSIENT_NETWORK_ERRORS",
        "Backoff",
        "BatchWriteResult",
        "DynamoDBClient",
        "Page",
        "TableGateway",
        "TransactResult",
        "botocore_config",
        "create_dynamodb_client",
        "create_table",
        "create_table_gateway",
        "describe_table_status",
        "enable_ttl",
        "wait_until_active",
    ),
    "airflow_provider_pipeline_registry.registry.run_logger": (
        "CANCEL_EXIT_SECONDS",
        "DEFAULT_LEASE_SECONDS",
        "END_RETRY_SECONDS_ENV",
        "SIGTERM_EXIT_CODE",
        "PipelineRunCancelled",
        "PipelineRunLogger",
        "spark_identity",
        "_looks_like_lost_jvm",
    ),
}


@pytest.mark.parametrize(
    ("module", "name"), [(module, name) for module, names in FORMER_NAMES.items() for name in names]
)
def test_former_module_names_import_from_the_same_path(module: str, name: str) -> None:
    assert hasattr(importlib.import_module(module), name), f"{module}.{name}"


def test_run_logger_reexports_the_one_lease_default() -> None:
    from airflow_provider_pipeline_registry.registry import run_logger

    assert run_logger.DEFAULT_LEASE_SECONDS is run_env.DEFAULT_LEASE_SECONDS


class _ConnectSession:
    """A Spark Connect session: ``sparkContext`` raises, the conf answers."""

    session_id = "s-1"

    @property
    def sparkContext(self) -> Any:
        raise RuntimeError("not supported in Spark Connect")

    class conf:
        @staticmethod
        def get(key: str, default: Any = None) -> Any:
            return {"spark.app.name": "job"}.get(key, default)


def test_run_logger_submodules_log_under_the_packages_name(caplog: pytest.LogCaptureFixture) -> None:
    name = "airflow_provider_pipeline_registry.registry.run_logger"
    with caplog.at_level(logging.INFO, logger=name):
        identity = spark_identity(_ConnectSession())  # logged by run_logger/spark.py
    assert identity["spark_application_id"] == "spark-connect-session:s-1"
    assert [r.name for r in caplog.records if "sparkContext is unavailable" in r.getMessage()] == [name]

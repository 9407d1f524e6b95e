"""Provider metadata read by Airflow's ProvidersManager (entry point ``apache_airflow_provider``)."""

from __future__ import annotations

from typing import Any


def get_provider_info() -> dict[str, Any]:
    """Metadata validated by Airflow against ``airflow/provider_info.schema.json``."""
    return {
        "package-name": "airflow-provider-pipeline-registry",
        "name": "Pipeline Registry",
        "description": "PySpark pipeline config, table config and run logs in DynamoDB.",
        "versions": ["0.1.0"],
    }

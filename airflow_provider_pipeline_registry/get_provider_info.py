"""Provider metadata read by Airflow's ProvidersManager (entry point ``apache_airflow_provider``).

Validated by Airflow against ``airflow/provider_info.schema.json``; ``package-name`` must equal the
distribution's canonical name. Kept free of imports so discovery stays cheap.

The hook is registered under its own connection type ``pipeline_registry`` (the ``aws`` type
belongs to the amazon provider; registering it twice would make one provider shadow the other).
The hook reads an ordinary ``aws`` connection as well: the form fields below are the registry
extras, which can equally be put into an ``aws`` connection's extra JSON.
"""

from __future__ import annotations

from typing import Any

PACKAGE_NAME = "airflow-provider-pipeline-registry"
INTEGRATION = "Pipeline Registry"
_BASE = "airflow_provider_pipeline_registry"

_TEXT: dict[str, Any] = {"type": ["string", "null"]}


def _conn_fields() -> dict[str, Any]:
    return {
        "endpoint_url": {
            "label": "Endpoint URL",
            "description": "DynamoDB endpoint, e.g. http://localhost:8000 for DynamoDB Local. Empty: AWS.",
            "schema": {"type": ["string", "null"], "format": "url"},
        },
        "region_name": {
            "label": "Region",
            "description": "AWS region of the registry tables, e.g. eu-west-1.",
            "schema": _TEXT,
        },
        "table_prefix": {
            "label": "Table prefix",
            "description": "Prefix of the three table names, e.g. 'prod_'. Overrides the environment prefix.",
            "schema": {"type": ["string", "null"], "pattern": "^[A-Za-z0-9_.-]*$"},
        },
        "environment": {
            "label": "Environment",
            "description": "dev, staging or prod; gives the prefix '<environment>_' when no table prefix is set.",
            "schema": {"type": ["string", "null"], "enum": ["dev", "staging", "prod", None]},
        },
        "user_timezone": {
            "label": "User timezone",
            "description": "IANA timezone for display in logs, e.g. Europe/Paris. Storage is always UTC.",
            "schema": _TEXT,
        },
        "pipeline_config_table": {
            "label": "Pipeline config table",
            "description": "Table name (before the prefix); default pipeline_config.",
            "schema": _TEXT,
        },
        "table_config_table": {
            "label": "Table config table",
            "description": "Table name (before the prefix); default table_config.",
            "schema": _TEXT,
        },
        "run_logs_table": {
            "label": "Run logs table",
            "description": "Table name (before the prefix); default pipeline_run_logs.",
            "schema": _TEXT,
        },
        "connect_timeout": {
            "label": "Connect timeout (s)",
            "description": "Seconds to wait for a TCP connection to DynamoDB; default 5.",
            "schema": {"type": ["number", "null"], "minimum": 0.1, "maximum": 300},
        },
        "read_timeout": {
            "label": "Read timeout (s)",
            "description": "Seconds to wait for a DynamoDB response; default 30.",
            "schema": {"type": ["number", "null"], "minimum": 0.1, "maximum": 900},
        },
        "max_attempts": {
            "label": "Max attempts",
            "description": "Attempts per call on throttling or network faults, with backoff; default 6.",
            "schema": {"type": ["integer", "null"], "minimum": 1, "maximum": 20},
        },
    }


def get_provider_info() -> dict[str, Any]:
    """Metadata validated by Airflow against ``airflow/provider_info.schema.json``."""
    return {
        "package-name": PACKAGE_NAME,
        "name": "Pipeline Registry",
        "description": "PySpark pipeline config, table config and run logs in DynamoDB.",
        "versions": ["0.1.0"],
        "integrations": [
            {
                "integration-name": INTEGRATION,
                "external-doc-url": "https://aws.amazon.com/dynamodb/",
                "tags": ["aws", "spark"],
            }
        ],
        "hooks": [{"integration-name": INTEGRATION, "python-modules": [f"{_BASE}.hooks.pipeline_registry"]}],
        "operators": [{"integration-name": INTEGRATION, "python-modules": [f"{_BASE}.operators.pipeline_registry"]}],
        "sensors": [{"integration-name": INTEGRATION, "python-modules": [f"{_BASE}.sensors.pipeline_registry"]}],
        "triggers": [{"integration-name": INTEGRATION, "python-modules": [f"{_BASE}.triggers.pipeline_registry"]}],
        # the UI plugin (Airflow 3.1+; also an ``airflow.plugins`` entry point) and the operators' links
        "plugins": [
            {
                "name": "pipeline_registry",
                "plugin-class": f"{_BASE}.plugins.pipeline_registry_plugin.PipelineRegistryPlugin",
            }
        ],
        "extra-links": [f"{_BASE}.links.RegistryRunLink", f"{_BASE}.links.SparkUILink"],
        "connection-types": [
            {
                "connection-type": "pipeline_registry",
                "hook-class-name": f"{_BASE}.hooks.pipeline_registry.PipelineRegistryHook",
                "hook-name": "Pipeline Registry (DynamoDB)",
                "ui-field-behaviour": {
                    "hidden-fields": ["host", "schema", "port"],
                    "relabeling": {"login": "AWS Access Key ID", "password": "AWS Secret Access Key"},
                    "placeholders": {
                        "login": "empty: use the default AWS credential chain",
                        "password": "empty: use the default AWS credential chain",
                    },
                },
                "conn-fields": _conn_fields(),
            }
        ],
    }

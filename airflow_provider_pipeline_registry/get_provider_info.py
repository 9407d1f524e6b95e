"""Provider metadata read by Airflow's ProvidersManager (entry point ``apache_airflow_provider``).

Validated by Airflow against ``airflow/provider_info.schema.json``; ``package-name`` must equal the
distribution's canonical name. Kept cheap for discovery: it imports only the pure-Python settings
declaration (:mod:`.registry.settings`), from which the connection form's fields are derived.

The hook is registered under its own connection type ``pipeline_registry`` (the ``aws`` type
belongs to the amazon provider; registering it twice would make one provider shadow the other).
The hook reads an ordinary ``aws`` connection as well: the form fields below are the registry
extras, which can equally be put into an ``aws`` connection's extra JSON.
"""

from __future__ import annotations

from typing import Any

from .registry.settings import SETTINGS

PACKAGE_NAME = "airflow-provider-pipeline-registry"
INTEGRATION = "Pipeline Registry"
_BASE = "airflow_provider_pipeline_registry"


def _conn_fields() -> dict[str, Any]:
    """The connection form: one field per declared registry setting, named by its extra key."""
    return {setting.extra: setting.form_field() for setting in SETTINGS}


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
        "notifications": [
            f"{_BASE}.notifications.pipeline_registry.PipelineRunSuccessNotifier",
            f"{_BASE}.notifications.pipeline_registry.PipelineRunFailureNotifier",
        ],
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

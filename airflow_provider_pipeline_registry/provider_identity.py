"""The provider's identity, declared once: package name, connection type, hook, connection form,
extra links, plugin and modules. The version is the installed distribution's (``pyproject.toml``).

:func:`~airflow_provider_pipeline_registry.get_provider_info.get_provider_info` is derived from
this module, and so are the hook's ``conn_type`` / ``hook_name`` / ``conn_name_attr`` and the
connection form of Airflow < 3.2 (``hooks/_connection_form.py``). Class paths are written as text so
that provider discovery imports nothing but this module and the settings declaration (no Airflow,
no boto3); tests/airflow/test_provider_registration.py checks each against the class it names.

The hook is registered under its own connection type ``pipeline_registry`` (the ``aws`` type
belongs to the amazon provider; registering it twice would make one provider shadow the other).
The hook reads an ordinary ``aws`` connection as well: the form fields are the registry extras,
which can equally be put into an ``aws`` connection's extra JSON.
"""

from __future__ import annotations

from functools import cache
from typing import Any, Final

#: the root package
PACKAGE: Final = "airflow_provider_pipeline_registry"
#: the distribution's canonical name (Airflow requires ``package-name`` to equal it)
PACKAGE_NAME: Final = "airflow-provider-pipeline-registry"
PROVIDER_NAME: Final = "Pipeline Registry"
DESCRIPTION: Final = "PySpark pipeline config, table config and run logs in DynamoDB."
INTEGRATION: Final = "Pipeline Registry"
INTEGRATION_DOC_URL: Final = "https://aws.amazon.com/dynamodb/"
INTEGRATION_TAGS: Final = ("aws", "spark")

#: the connection type under which the hook is registered (its own connection form in the UI)
CONN_TYPE: Final = "pipeline_registry"
#: the hook's name in the UI's connection type list
HOOK_NAME: Final = "Pipeline Registry (DynamoDB)"
#: the hook's argument naming its connection
CONN_NAME_ATTR: Final = "aws_conn_id"
HOOK_MODULE: Final = f"{PACKAGE}.hooks.pipeline_registry"
HOOK_CLASS_NAME: Final = f"{HOOK_MODULE}.PipelineRegistryHook"
OPERATOR_MODULE: Final = f"{PACKAGE}.operators.pipeline_registry"
SENSOR_MODULE: Final = f"{PACKAGE}.sensors.pipeline_registry"
TRIGGER_MODULE: Final = f"{PACKAGE}.triggers.pipeline_registry"
NOTIFIER_MODULE: Final = f"{PACKAGE}.notifications.pipeline_registry"
#: the notifier classes listed in the provider info
NOTIFIERS: Final = (
    f"{NOTIFIER_MODULE}.PipelineRunSuccessNotifier",
    f"{NOTIFIER_MODULE}.PipelineRunFailureNotifier",
)

#: the extra links of the operators and sensor, where their classes live (``links/``)
EXTRA_LINKS: Final = (
    f"{PACKAGE}.links.pipeline_registry.RegistryRunLink",
    f"{PACKAGE}.links.pipeline_registry.SparkUILink",
)
#: the UI plugin (Airflow 3.1+; also the ``airflow.plugins`` entry point in pyproject.toml)
PLUGIN_NAME: Final = "pipeline_registry"
PLUGIN_CLASS: Final = f"{PACKAGE}.plugins.pipeline_registry_plugin.PipelineRegistryPlugin"
#: the ``apache_airflow_provider`` entry point (pyproject.toml)
PROVIDER_INFO_ENTRY_POINT: Final = f"{PACKAGE}.get_provider_info:get_provider_info"

#: the connection form's standard fields: hidden ones, labels and placeholders
UI_FIELD_BEHAVIOUR: Final[dict[str, Any]] = {
    "hidden-fields": ["host", "schema", "port"],
    "relabeling": {"login": "AWS Access Key ID", "password": "AWS Secret Access Key"},
    "placeholders": {
        "login": "empty: use the default AWS credential chain",
        "password": "empty: use the default AWS credential chain",
    },
}


def conn_fields() -> dict[str, Any]:
    """The connection form's extra fields: one per declared registry setting, named by its extra key."""
    from .registry.settings import SETTINGS

    return {setting.extra: setting.form_field() for setting in SETTINGS}


@cache
def version() -> str:
    """The installed distribution's version (``pyproject.toml`` declares it); ``0+unknown`` when
    the package runs from a checkout that was never installed."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed_version

    try:
        return installed_version(PACKAGE_NAME)
    except PackageNotFoundError:  # pragma: no cover - every supported setup installs the package
        return "0+unknown"


__all__ = [
    "CONN_NAME_ATTR",
    "CONN_TYPE",
    "DESCRIPTION",
    "EXTRA_LINKS",
    "HOOK_CLASS_NAME",
    "HOOK_MODULE",
    "HOOK_NAME",
    "INTEGRATION",
    "INTEGRATION_DOC_URL",
    "INTEGRATION_TAGS",
    "NOTIFIERS",
    "NOTIFIER_MODULE",
    "OPERATOR_MODULE",
    "PACKAGE",
    "PACKAGE_NAME",
    "PLUGIN_CLASS",
    "PLUGIN_NAME",
    "PROVIDER_INFO_ENTRY_POINT",
    "PROVIDER_NAME",
    "SENSOR_MODULE",
    "TRIGGER_MODULE",
    "UI_FIELD_BEHAVIOUR",
    "conn_fields",
    "version",
]

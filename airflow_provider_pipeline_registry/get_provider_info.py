"""Provider metadata read by Airflow's ProvidersManager (entry point ``apache_airflow_provider``).

Derived from the provider's identity, declared once in :mod:`.provider_identity` (the version is
the installed distribution's). Validated by Airflow against ``airflow/provider_info.schema.json``;
``package-name`` must equal the distribution's canonical name. Kept cheap for discovery: it imports
only the identity and the pure-Python settings declaration (the connection form's fields).
"""

from __future__ import annotations

import copy
from typing import Any

from . import provider_identity as identity

# the names this module exported before the identity had its own home
PACKAGE_NAME = identity.PACKAGE_NAME
INTEGRATION = identity.INTEGRATION


def get_provider_info() -> dict[str, Any]:
    """Metadata validated by Airflow against ``airflow/provider_info.schema.json``."""

    def modules(module: str) -> list[dict[str, Any]]:
        return [{"integration-name": identity.INTEGRATION, "python-modules": [module]}]

    return {
        "package-name": identity.PACKAGE_NAME,
        "name": identity.PROVIDER_NAME,
        "description": identity.DESCRIPTION,
        "versions": [identity.version()],
        "integrations": [
            {
                "integration-name": identity.INTEGRATION,
                "external-doc-url": identity.INTEGRATION_DOC_URL,
                "tags": list(identity.INTEGRATION_TAGS),
            }
        ],
        "hooks": modules(identity.HOOK_MODULE),
        "operators": modules(identity.OPERATOR_MODULE),
        "sensors": modules(identity.SENSOR_MODULE),
        "triggers": modules(identity.TRIGGER_MODULE),
        "notifications": list(identity.NOTIFIERS),
        # the UI plugin (Airflow 3.1+; also an ``airflow.plugins`` entry point) and the operators' links
        "plugins": [{"name": identity.PLUGIN_NAME, "plugin-class": identity.PLUGIN_CLASS}],
        "extra-links": list(identity.EXTRA_LINKS),
        "connection-types": [
            {
                "connection-type": identity.CONN_TYPE,
                "hook-class-name": identity.HOOK_CLASS_NAME,
                "hook-name": identity.HOOK_NAME,
                "ui-field-behaviour": copy.deepcopy(identity.UI_FIELD_BEHAVIOUR),
                "conn-fields": identity.conn_fields(),
            }
        ],
    }

"""``PipelineRegistryPlugin``: the registry's pages, JSON API and navigation entry in Airflow's UI.

Airflow loads it from the ``airflow.plugins`` entry point (and from the provider info's
``plugins`` when ``[core] lazy_discover_providers`` is False). The FastAPI app and the navigation
entry are added only in the api-server, on Airflow 3.1+ and when ``[pipeline_registry] ui_enabled``
is not False; elsewhere (scheduler, workers, Airflow 2.11) the plugin carries only the operator
extra links and imports nothing heavy.
"""

from __future__ import annotations

import sys
from typing import Any

from airflow.plugins_manager import AirflowPlugin

from ..links import REGISTRY_LINKS
from ..provider_identity import PLUGIN_NAME
from ..utils.compat import AIRFLOW_V_3_1_PLUS
from . import options


def running_in_api_server(argv: list[str] | None = None) -> bool:
    """Whether this process is Airflow's api-server (``airflow api-server``)."""
    args = sys.argv if argv is None else argv
    return len(args) > 1 and args[1] == "api-server"


def fastapi_app_entry() -> dict[str, Any]:
    """The ``fastapi_apps`` entry: the app mounted at :data:`options.URL_PREFIX`."""
    from .app import create_app

    return {"app": create_app(), "url_prefix": options.URL_PREFIX, "name": "Pipeline Registry"}


def external_view_entry() -> dict[str, Any]:
    """The navigation entry: the pages, shown inside Airflow's UI at ``/plugin/pipeline_registry``."""
    return {
        "name": "Pipeline Registry",
        "href": f"{options.base_path()}{options.URL_PREFIX}/ui/",
        "destination": "nav",
        "url_route": options.UI_ROUTE,
    }


UI_ACTIVE = AIRFLOW_V_3_1_PLUS and options.ui_enabled() and running_in_api_server()


class PipelineRegistryPlugin(AirflowPlugin):
    """Pipelines, tables and run history in Airflow's UI, plus the operators' extra links."""

    name = PLUGIN_NAME
    operator_extra_links = [link() for link in REGISTRY_LINKS]
    if UI_ACTIVE:
        fastapi_apps = [fastapi_app_entry()]
        external_views = [external_view_entry()]

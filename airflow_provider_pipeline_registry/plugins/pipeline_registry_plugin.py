"""``PipelineRegistryPlugin``: the registry's pages, JSON API and navigation entry in Airflow's UI.

Airflow loads it from the ``airflow.plugins`` entry point (and from the provider info's
``plugins`` when ``[core] lazy_discover_providers`` is False). The FastAPI app and the navigation
entry are added only in the api-server, on Airflow 3.1+ and when ``[pipeline_registry] ui_enabled``
is not False; elsewhere (scheduler, workers, Airflow 2.11) the plugin carries only the operator
extra links and imports nothing heavy.
"""

from __future__ import annotations

import base64
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


#: the label in Airflow's navigation and on the dag run / task instance tabs: short enough for
#: Airflow's narrow top-level navigation (a longer one is cut there, "Pipeline R...")
VIEW_NAME = "Registry"

#: the navigation icon (a stack of tables, Airflow's 1.5em line-icon style), as ``data:`` URLs so
#: that no request (and no auth) is needed to draw it; a light stroke for Airflow's dark mode
_ICON_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" fill="none" stroke="{0}" '
    'stroke-width="2" stroke-linecap="round" stroke-linejoin="round">'
    '<ellipse cx="12" cy="5" rx="8" ry="3"/><path d="M4 5v6c0 1.7 3.6 3 8 3s8-1.3 8-3V5"/>'
    '<path d="M4 11v6c0 1.7 3.6 3 8 3s8-1.3 8-3v-6"/></svg>'
)


def _icon(stroke: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(_ICON_SVG.format(stroke).encode()).decode()


ICON_LIGHT = _icon("#27272a")
ICON_DARK = _icon("#f4f4f5")


def external_view_entry() -> dict[str, Any]:
    """The navigation entry: the pages, shown inside Airflow's UI at ``/plugin/pipeline_registry``."""
    return {
        "name": VIEW_NAME,
        "href": f"{options.base_path()}{options.URL_PREFIX}/ui/",
        "destination": "nav",
        "url_route": options.UI_ROUTE,
        "icon": ICON_LIGHT,
        "icon_dark_mode": ICON_DARK,
    }


def airflow_views_entries() -> list[dict[str, Any]]:
    """The registry's view of a run as a tab of Airflow's dag run and task instance pages.

    External views (server-rendered pages in Airflow's iframe), not React apps: the same pages,
    auth and escaping as the registry's own, no JavaScript bundle to build against Airflow's
    React version, and they work on every Airflow 3.1+ (React apps are experimental there).
    Airflow fills ``{DAG_ID}``, ``{RUN_ID}``, ``{TASK_ID}`` and ``{MAP_INDEX}`` (URL-encoded).
    """
    base = f"{options.base_path()}{options.URL_PREFIX}/ui/airflow"
    return [
        {
            "name": VIEW_NAME,
            "href": f"{base}?dag_id={{DAG_ID}}&dag_run_id={{RUN_ID}}",
            "destination": "dag_run",
            "url_route": f"{options.UI_ROUTE}_dag_run",
            "icon": ICON_LIGHT,
            "icon_dark_mode": ICON_DARK,
        },
        {
            "name": VIEW_NAME,
            "href": f"{base}?dag_id={{DAG_ID}}&dag_run_id={{RUN_ID}}&task_id={{TASK_ID}}&map_index={{MAP_INDEX}}",
            "destination": "task_instance",
            "url_route": f"{options.UI_ROUTE}_task_instance",
            "icon": ICON_LIGHT,
            "icon_dark_mode": ICON_DARK,
        },
    ]


UI_ACTIVE = AIRFLOW_V_3_1_PLUS and options.ui_enabled() and running_in_api_server()


class PipelineRegistryPlugin(AirflowPlugin):
    """Pipelines, tables and run history in Airflow's UI, plus the operators' extra links."""

    name = PLUGIN_NAME
    operator_extra_links = [link() for link in REGISTRY_LINKS]
    if UI_ACTIVE:
        fastapi_apps = [fastapi_app_entry()]
        external_views = [external_view_entry(), *airflow_views_entries()]

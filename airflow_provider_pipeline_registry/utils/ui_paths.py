"""Where the registry's UI lives inside Airflow's UI: the one home of its paths.

Shared by the UI plugin (:mod:`..plugins`, which mounts the pages there) and the operators' extra
links (:mod:`..links`, which point at a run's page), so the links never import the plugin.
Airflow's configuration is read inside the functions only.
"""

from __future__ import annotations

from urllib.parse import urlencode, urlparse

#: where the FastAPI app is mounted in the api-server
URL_PREFIX = "/pipeline-registry"
#: the route of the navigation entry inside Airflow's UI (``/plugin/<route>``)
UI_ROUTE = "pipeline_registry"


def conf_value(section: str, key: str, fallback: str) -> str:
    """Airflow's ``[section] key`` as text (``fallback`` when unset, empty, or outside Airflow)."""
    try:
        from airflow.configuration import conf
    except ImportError:  # pragma: no cover - not inside Airflow
        return fallback
    value = conf.get(section, key, fallback=fallback)
    return str(value) if value else fallback


def base_path() -> str:
    """The path part of ``[api] base_url`` without its trailing slash ("" when served at the root)."""
    base = conf_value("api", "base_url", "/")
    path = urlparse(base).path if base.startswith(("http://", "https://")) else base
    return path.rstrip("/")


def run_page_path(pipeline_id: str, run_id: str) -> str:
    """Path (no host) of a run's page inside Airflow's UI, under ``[api] base_url``."""
    query = urlencode({"pipeline_id": pipeline_id, "run_id": run_id})
    return f"{base_path()}/plugin/{UI_ROUTE}{URL_PREFIX}/ui/run?{query}"


__all__ = ["UI_ROUTE", "URL_PREFIX", "base_path", "conf_value", "run_page_path"]

"""The plugin's options, from Airflow's configuration section ``[pipeline_registry]`` (Airflow
configuration options, not registry settings: see the README's "Names").

* ``aws_conn_id`` (default ``aws_default``): the connection the UI and the API read the registry with.
* ``ui_enabled`` (default ``True``): ``False`` removes the pages, the API and the navigation entry.

As every Airflow option, each can be set by environment variable, e.g.
``AIRFLOW__PIPELINE_REGISTRY__AWS_CONN_ID``.
"""

from __future__ import annotations

from urllib.parse import urlparse

from ..hooks.pipeline_registry import DEFAULT_CONN_ID

SECTION = "pipeline_registry"
#: where the FastAPI app is mounted in the api-server
URL_PREFIX = "/pipeline-registry"
#: the route of the navigation entry inside Airflow's UI (``/plugin/<route>``)
UI_ROUTE = "pipeline_registry"


def _conf_get(key: str, fallback: str) -> str:
    try:
        from airflow.configuration import conf
    except ImportError:  # pragma: no cover - not inside Airflow
        return fallback
    value = conf.get(SECTION, key, fallback=fallback)
    return str(value) if value is not None else fallback


def aws_conn_id() -> str:
    """The connection id the plugin reads the registry with (``[pipeline_registry] aws_conn_id``)."""
    return _conf_get("aws_conn_id", DEFAULT_CONN_ID).strip() or DEFAULT_CONN_ID


def sensitive_var_conn_names() -> str:
    """Airflow's ``[core] sensitive_var_conn_names``: more names whose values are masked."""
    return _conf_get_section("core", "sensitive_var_conn_names", "")


def register_sensitive_names() -> None:
    """Add ``[core] sensitive_var_conn_names`` to the registry's redaction (this process)."""
    from ..registry.redaction import add_sensitive_names

    add_sensitive_names(sensitive_var_conn_names())


def ui_enabled() -> bool:
    """Whether the plugin adds its pages and API (``[pipeline_registry] ui_enabled``, default True)."""
    return _conf_get("ui_enabled", "True").strip().lower() not in {"false", "0", "no", "off"}


def base_path() -> str:
    """The path part of ``[api] base_url`` without its trailing slash ("" when served at the root)."""
    base = _conf_get_section("api", "base_url", "/")
    path = urlparse(base).path if base.startswith(("http://", "https://")) else base
    return path.rstrip("/")


def _conf_get_section(section: str, key: str, fallback: str) -> str:
    try:
        from airflow.configuration import conf
    except ImportError:  # pragma: no cover
        return fallback
    value = conf.get(section, key, fallback=fallback)
    return str(value) if value else fallback


def run_page_path(pipeline_id: str, run_id: str) -> str:
    """Path (no host) of a run's page inside Airflow's UI, under ``[api] base_url``."""
    from urllib.parse import urlencode

    query = urlencode({"pipeline_id": pipeline_id, "run_id": run_id})
    return f"{base_path()}/plugin/{UI_ROUTE}{URL_PREFIX}/ui/run?{query}"

"""The plugin's options, from Airflow's configuration section ``[pipeline_registry]``.

Airflow configuration options, not registry settings (see the README's "Names").

* ``aws_conn_id`` (default ``aws_default``): the connection the UI and the API read the registry with.
* ``ui_enabled`` (default ``True``): ``False`` removes the pages, the API and the navigation entry.

As every Airflow option, each can be set by environment variable, e.g.
``AIRFLOW__PIPELINE_REGISTRY__AWS_CONN_ID``.
"""

from __future__ import annotations

from ..hooks.pipeline_registry import DEFAULT_CONN_ID
from ..utils.ui_paths import UI_ROUTE, URL_PREFIX, base_path, run_page_path
from ..utils.ui_paths import conf_value as _conf_get_section

SECTION = "pipeline_registry"


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


__all__ = [
    "SECTION",
    "UI_ROUTE",
    "URL_PREFIX",
    "aws_conn_id",
    "base_path",
    "register_sensitive_names",
    "run_page_path",
    "sensitive_var_conn_names",
    "ui_enabled",
]

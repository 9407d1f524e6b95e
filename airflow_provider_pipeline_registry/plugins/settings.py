"""Former name of :mod:`.options` (the plugin's Airflow configuration options), kept as an alias."""

from __future__ import annotations

from ..hooks.pipeline_registry import DEFAULT_CONN_ID
from .options import (
    SECTION,
    UI_ROUTE,
    URL_PREFIX,
    aws_conn_id,
    base_path,
    register_sensitive_names,
    run_page_path,
    sensitive_var_conn_names,
    ui_enabled,
)

__all__ = [
    "DEFAULT_CONN_ID",
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

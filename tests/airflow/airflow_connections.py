"""The registry connection of the Airflow tests, given the way users give it. A uniquely named
module (not ``conftest``), so that test modules of several directories can import their helpers in
one pytest call."""

from __future__ import annotations

import json
from typing import Any

import pytest

REGISTRY_CONN_ID = "pr_registry"
REGISTRY_USER_TIMEZONE = "America/New_York"
# dummy credentials, distinctive so that a leak into logs/repr/errors is easy to detect
TEST_ACCESS_KEY_ID = "AKIAPRTESTKEY7EXAMPLE"
TEST_SECRET_ACCESS_KEY = "prTestSecret/DoNotLog+k3y0123456789abcdEF"


def registry_connection(endpoint_url: str, table_prefix: str, **extra: Any) -> dict[str, Any]:
    """An ``aws`` connection in the JSON form of ``AIRFLOW_CONN_<ID>``."""
    extras: dict[str, Any] = {
        "endpoint_url": endpoint_url,
        "region_name": "us-east-1",
        "table_prefix": table_prefix,
        "user_timezone": REGISTRY_USER_TIMEZONE,
    }
    extras.update(extra)
    return {
        "conn_type": "aws",
        "login": TEST_ACCESS_KEY_ID,
        "password": TEST_SECRET_ACCESS_KEY,
        "extra": extras,
    }


def set_connection(monkeypatch: pytest.MonkeyPatch, conn_id: str, connection: dict[str, Any]) -> str:
    """Define ``conn_id`` through its ``AIRFLOW_CONN_<ID>`` variable (undone at test end)."""
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(connection))
    return conn_id

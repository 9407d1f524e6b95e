"""The UI plugin's registry on a named connection that does not exist: HTTP 503 naming it, never
the default credential chain (tests/airflow/test_missing_connection.py covers the other paths)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from ui_auth import token_for

from airflow_provider_pipeline_registry.plugins.app import create_app, hook_registry_factory
from airflow_provider_pipeline_registry.plugins.settings import URL_PREFIX

pytestmark = [pytest.mark.integration, pytest.mark.airflow]

MISSING = "pr_ui_not_defined"


def test_api_answers_503_naming_the_missing_connection(auth_manager: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(f"AIRFLOW_CONN_{MISSING.upper()}", raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:9")  # a regression fails fast, not on AWS
    parent = FastAPI()
    parent.mount(URL_PREFIX, create_app(hook_registry_factory(MISSING)))
    with TestClient(parent, base_url=f"http://testserver{URL_PREFIX}") as client:
        client.headers["Authorization"] = f"Bearer {token_for(auth_manager, 'viewer', 'VIEWER')}"
        response = client.get("/api/v1/pipelines")
    assert response.status_code == 503, response.text
    detail = response.json()["detail"]
    assert detail["error"] == "registry_unavailable"
    assert detail["message"].startswith("ConfigurationError: ")
    assert f"the Airflow connection {MISSING!r} (aws_conn_id) does not exist" in detail["message"]

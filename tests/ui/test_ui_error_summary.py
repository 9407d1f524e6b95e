"""Issue 21 item 9 in the UI: the runs table shows a long error's head and tail on one line (the
package's one truncation with a cell-sized limit); the run's page shows the whole stored error."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from spark_traceback import FIRST_LINE, LAST_LINE, spark_traceback
from ui_auth import token_for

from airflow_provider_pipeline_registry.plugins.app import create_app
from airflow_provider_pipeline_registry.plugins.pages import ERROR_SUMMARY_BYTES
from airflow_provider_pipeline_registry.plugins.settings import URL_PREFIX
from airflow_provider_pipeline_registry.registry import Registry

pytestmark = [pytest.mark.integration, pytest.mark.airflow]


def test_the_runs_table_keeps_the_end_of_a_long_error_on_one_line(
    make_registry: Callable[..., Registry], auth_manager: Any
) -> None:
    registry = make_registry(user_timezone="Europe/Paris")
    registry.pipelines_write.create({"pipeline_id": "p", "name": "P"})
    registry.runs_write.start({"run_id": "r1", "pipeline_id": "p"})
    registry.runs_write.finish(
        {"run_id": "r1", "pipeline_id": "p", "status": "FAILED", "error_type": "E", "error_message": spark_traceback()}
    )
    stored = registry.runs.find_entity("r1", "p", consistent=True)
    assert stored is not None
    assert stored.error_message is not None
    parent = FastAPI()
    parent.mount(URL_PREFIX, create_app(lambda: registry))
    with TestClient(parent, base_url=f"http://testserver{URL_PREFIX}") as client:
        client.headers["Authorization"] = f"Bearer {token_for(auth_manager, 'viewer', 'VIEWER')}"
        page = client.get("/ui/pipeline", params={"pipeline_id": "p"})
        assert page.status_code == 200
        cell = re.search(r'<td class="error"[^>]*>(.*?)</td>', page.text, re.S)
        assert cell is not None
        text = html.unescape(cell.group(1))
        assert "\n" not in text
        summary = text.removeprefix("E: ")
        assert len(summary.encode()) <= ERROR_SUMMARY_BYTES
        assert summary.startswith(FIRST_LINE)
        assert summary.endswith("SQLSTATE: 42P01")  # the end of the exception line
        assert re.search(r" \.\.\. \[\d+ bytes omitted\] \.\.\. ", summary)
        run = client.get("/ui/run", params={"pipeline_id": "p", "run_id": "r1"})
        assert run.status_code == 200
        assert html.escape(LAST_LINE, quote=True) in run.text or LAST_LINE in html.unescape(run.text)
    for name in registry.config.describe()["tables"].values():
        registry.client.delete_table(TableName=name)

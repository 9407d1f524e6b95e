"""The registry's view of a run on Airflow's dag run and task instance pages, the attempt history,
the Spark UI link that works in Airflow's sandboxed iframe, and the plugin's view entries.

Served by the plugin app (FastAPI's TestClient, real auth) over its own tables in DynamoDB Local;
the browser walk of the same views is in test_ui_browser.py.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from registry_fixtures import registry_on
from ui_auth import token_for
from ui_seed import RETRIED_DAG_RUN, RETRIED_OOM, RETRIED_TIMEOUT, retried_run

from airflow_provider_pipeline_registry.plugins import pipeline_registry_plugin as plugin_module
from airflow_provider_pipeline_registry.plugins.airflow_views import candidate_run_ids, parse_map_index
from airflow_provider_pipeline_registry.plugins.app import create_app
from airflow_provider_pipeline_registry.plugins.options import URL_PREFIX
from airflow_provider_pipeline_registry.registry import Registry
from airflow_provider_pipeline_registry.registry.run_env import derive_run_id

pytestmark = [pytest.mark.integration, pytest.mark.airflow]

GROUP_DAG_RUN = "scheduled__2026-11-29T00:00:00+00:00"


@pytest.fixture(scope="module")
def registry(dynamodb_endpoint: str) -> Iterator[Registry]:
    reg = registry_on(dynamodb_endpoint, f"uiav{uuid.uuid4().hex[:8]}_", user_timezone="UTC")
    reg.pipelines_write.create({"pipeline_id": "inventory_hourly", "name": "Hourly inventory", "owner": "ops"})
    grouped = {
        "run_id": derive_run_id("grouped_dag", GROUP_DAG_RUN, "load"),
        "pipeline_id": "inventory_hourly",
        "status": "FAILED",
        "start_time": "2026-11-29T00:00:00Z",
        "end_time": "2026-11-29T00:05:00Z",
        "dag_id": "grouped_dag",
        "dag_run_id": GROUP_DAG_RUN,
        "task_id": "load.spark_job",
        "error_type": "SparkJobError",
        "error_message": "boom",
    }
    report = reg.runs_write.batch_upsert([retried_run(), grouped])
    assert report.ok, report.failed
    yield reg
    for name in reg.config.describe()["tables"].values():
        reg.client.delete_table(TableName=name)


@pytest.fixture(scope="module")
def client(registry: Registry, auth_manager: Any) -> Iterator[TestClient]:
    parent = FastAPI()
    parent.mount(URL_PREFIX, create_app(lambda: registry))
    with TestClient(parent, base_url=f"http://testserver{URL_PREFIX}") as c:
        c.headers["Authorization"] = f"Bearer {token_for(auth_manager, 'viewer', 'VIEWER')}"
        yield c


def _attempt_rows(html: str) -> list[str]:
    table = html.split('id="attempts"', 1)[1].split("</table>", 1)[0]
    return re.findall(r'<tr class="attempt[^"]*">(.*?)</tr>', table, re.S)


def test_the_task_instance_tab_shows_every_attempt(client: TestClient) -> None:
    response = client.get(
        "/ui/airflow",
        params={"dag_id": "inventory_dag", "dag_run_id": RETRIED_DAG_RUN, "task_id": "spark_job", "map_index": "-1"},
    )
    assert response.status_code == 200
    html = response.text
    assert f"inventory_dag/{RETRIED_DAG_RUN}" in html
    assert "retried: 3 tries, 25m00s since the first" in html
    rows = _attempt_rows(html)
    assert len(rows) == 3
    expected = [
        # the tail of a long error (the exception's name) and its head are in the summary
        ["status-FAILED", "app-r1", "12m00s", RETRIED_OOM, "Job aborted due to stage failure"],
        ["status-FAILED", "app-r2", "10m00s", RETRIED_TIMEOUT],
        ["status-SUCCESS", "app-r3", "2m00s", "(this)"],
    ]
    for row, texts in zip(rows, expected, strict=True):
        for text in texts:
            assert text in row


def test_the_dag_run_tab_and_a_task_in_a_group(client: TestClient) -> None:
    page = client.get("/ui/airflow", params={"dag_id": "inventory_dag", "dag_run_id": RETRIED_DAG_RUN})
    assert page.status_code == 200
    assert len(_attempt_rows(page.text)) == 3
    grouped = client.get(
        "/ui/airflow",
        params={"dag_id": "grouped_dag", "dag_run_id": GROUP_DAG_RUN, "task_id": "load.spark_job", "map_index": ""},
    )
    assert grouped.status_code == 200
    assert "grouped_dag/" + GROUP_DAG_RUN + "/load" in grouped.text
    assert "boom" in grouped.text


def test_a_dag_run_without_registry_run_says_so(client: TestClient) -> None:
    response = client.get("/ui/airflow", params={"dag_id": "other_dag", "dag_run_id": "manual__x", "task_id": "t"})
    assert response.status_code == 200
    assert "No registry run" in response.text
    assert "other_dag/manual__x" in response.text


def test_retried_runs_are_marked_in_the_runs_table_and_the_chart(client: TestClient) -> None:
    html = client.get("/ui/pipeline", params={"pipeline_id": "inventory_hourly"}).text
    row = next(r for r in re.findall(r"<tr>(.*?)</tr>", html, re.S) if RETRIED_DAG_RUN in r)
    assert "retried: 3 tries, 25m00s in all" in row
    assert "earlier tries: FAILED, FAILED" in row
    chart = html.split('id="duration-chart"', 1)[1]
    assert chart.count('class="retry-ring"') == 1
    assert re.search(r'class="run-dot status-SUCCESS retried".*?try 3 after 2 \(FAILED, FAILED\)', chart, re.S)
    assert "RETRIED</text>" in chart


def test_the_spark_ui_link_works_without_popups(client: TestClient) -> None:
    """Airflow's iframe has no allow-popups: no ``target=_blank`` anywhere, a same-tab link the
    page's script routes through Airflow's document, and the URL to copy."""
    url = "http://spark-history.example:18080/history/app-r3"
    for path, params in [
        ("/ui/run", {"pipeline_id": "inventory_hourly", "run_id": f"inventory_dag/{RETRIED_DAG_RUN}"}),
        ("/ui/pipeline", {"pipeline_id": "inventory_hourly"}),
    ]:
        html = client.get(path, params=params).text
        assert 'target="_blank"' not in html, path
        assert f'data-spark href="{url}"' in html, path
        assert f'data-copy="{url}"' in html, path
    run_id = f"inventory_dag/{RETRIED_DAG_RUN}"
    run = client.get("/ui/run", params={"pipeline_id": "inventory_hourly", "run_id": run_id})
    assert f'id="spark-ui-url" type="text" readonly value="{url}"' in run.text


def test_candidate_run_ids_and_map_index() -> None:
    assert candidate_run_ids("d", "r") == ["d/r"]
    assert candidate_run_ids("d", "r", "a.b.t") == ["d/r/a.b", "d/r/a", "d/r"]
    assert [parse_map_index(v) for v in ("-1", "", None, "3", "{MAP_INDEX}")] == [None, None, None, 3, None]


def test_the_views_on_airflows_dag_run_and_task_instance_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.api_fastapi.core_api.datamodels.plugins import ExternalViewResponse

    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "https://airflow.example.com/team-a/")
    nav = plugin_module.external_view_entry()
    dag_run, task = plugin_module.airflow_views_entries()
    for entry in (nav, dag_run, task):
        ExternalViewResponse.model_validate(entry)  # what Airflow's API serves to its UI
        assert entry["name"] == "Registry"  # short enough for Airflow's top-level navigation
        assert entry["icon"].startswith("data:image/svg+xml;base64,")
        assert entry["icon_dark_mode"].startswith("data:image/svg+xml;base64,")
    assert dag_run["destination"] == "dag_run"
    assert dag_run["href"] == "/team-a/pipeline-registry/ui/airflow?dag_id={DAG_ID}&dag_run_id={RUN_ID}"
    assert task["destination"] == "task_instance"
    assert task["href"].endswith("&task_id={TASK_ID}&map_index={MAP_INDEX}")
    assert len({e["url_route"] for e in (nav, dag_run, task)}) == 3

"""The "Registry run" and "Spark UI" extra links of the operators, computed by real Airflow (dag.test()).

Each task persists its run at execute time (XCom ``pipeline_registry_run_link``) and the links are
built from that alone. On Airflow 3 a task's extra links are evaluated in the worker when the task
ends and stored in XCom under ``_link_<class name>``; the UI reads them from there. On Airflow 2.11
the webserver calls ``get_link`` when the page renders: the tests call it the same way, with the
registry out of reach, to show that rendering never reads DynamoDB.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from airflow_versions import AIRFLOW_V3, xcom_rows
from dag_modules import load_dag_module

from airflow_provider_pipeline_registry.links import REGISTRY_LINKS, RegistryRunLink, SparkUILink
from airflow_provider_pipeline_registry.registry.run_env import derive_run_id
from airflow_provider_pipeline_registry.xcom_keys import XCOM_RUN_LINK

#: a log line at error level or above, in the formats dag.test() prints (structlog and logging)
_ERROR_LINE = re.compile(r"\[\s*(error|critical|exception)\s*\]|\b(ERROR|CRITICAL)\b")
RUN_PAGE = "/plugin/pipeline_registry/pipeline-registry/ui/run"

pytestmark = [pytest.mark.airflow, pytest.mark.integration]


def _state(obj: Any) -> str:
    state = getattr(obj, "state", obj)
    return str(getattr(state, "value", state))


def _xcoms(dr: Any, task_id: str) -> dict[str, Any]:
    return {key: value for _, key, value in xcom_rows(dr, task_id)}


def _registry_out_of_reach(monkeypatch: pytest.MonkeyPatch, conn_id: str) -> None:
    """Point ``conn_id`` at a port nothing listens on: a link that read DynamoDB would come out empty."""
    name = f"AIRFLOW_CONN_{conn_id.upper()}"
    connection = json.loads(os.environ[name])
    connection["extra"] = {**connection["extra"], "endpoint_url": "http://127.0.0.1:9", "max_attempts": 1}
    monkeypatch.setenv(name, json.dumps(connection))


def _links(dr: Any, dag: Any, task_id: str) -> dict[str, str]:
    """The task's links as the UI shows them: on Airflow 3 what the worker stored when the task
    ended; on Airflow 2.11 what ``get_link`` gives when the page renders."""
    if AIRFLOW_V3:
        stored = _xcoms(dr, task_id)
        return {link.name: stored[f"_link_{link.__name__}"] for link in REGISTRY_LINKS}
    ti_key = dr.get_task_instance(task_id).key
    task = dag.get_task(task_id)
    return {link.name: link().get_link(task, ti_key=ti_key) for link in REGISTRY_LINKS}


def _run_page(link: str) -> tuple[str, dict[str, list[str]]]:
    parts = urlsplit(link)
    assert (parts.scheme, parts.netloc) == ("", "")  # a path inside Airflow's UI, no host
    return parts.path, parse_qs(parts.query)


@pytest.fixture
def links_dags(registry_conn_id: str, registry_hook: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    dags = load_dag_module("registry_links_dags.py")
    monkeypatch.setenv(f"AIRFLOW_CONN_{dags.CONN_ID.upper()}", os.environ[f"AIRFLOW_CONN_{registry_conn_id.upper()}"])
    registry_hook.pipelines_write.create({"pipeline_id": dags.PIPELINE_ID, "name": "Links"})
    return dags


def test_operators_link_to_their_registry_run_and_spark_ui(
    airflow_db: Any,
    links_dags: Any,
    registry_hook: Any,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    dags = links_dags
    capfd.readouterr()  # what came before the run
    dr = dags.dag.test()
    out, err = capfd.readouterr()

    assert _state(dr) == "success"
    # a green run logs no error: the links never ask for an XCom the task did not push (on Airflow 3
    # such a read logs "[error] XCom not found", twice per task with two links)
    logged = (out + err).splitlines()
    assert [line for line in logged if "XCom" in line and "found" in line] == []
    assert [line for line in logged if _ERROR_LINE.search(line)] == []
    run_id = derive_run_id(dr.dag_id, dr.run_id)
    stored = registry_hook.runs.find_entity(run_id, dags.PIPELINE_ID, consistent=True)
    assert stored is not None
    assert stored.spark_ui_url == dags.SPARK_UI_URL
    # what each task persisted at execute time: its run, and the Spark UI once the run recorded it
    for task_id, spark_ui_url in (
        ("load", None),
        ("start", None),
        ("end", dags.SPARK_UI_URL),
        ("sensor", dags.SPARK_UI_URL),
    ):
        persisted = _xcoms(dr, task_id)[XCOM_RUN_LINK]
        assert persisted == {"pipeline_id": dags.PIPELINE_ID, "run_id": run_id, "spark_ui_url": spark_ui_url}

    _registry_out_of_reach(monkeypatch, dags.CONN_ID)  # the links are built from XCom alone
    for task_id in ("load", "start", "end", "sensor"):
        links = _links(dr, dags.dag, task_id)
        assert _run_page(links[RegistryRunLink.name]) == (
            RUN_PAGE,
            {"pipeline_id": [dags.PIPELINE_ID], "run_id": [run_id]},
        )
    # the Spark UI is known once the Spark task recorded it: not at the start, yes at the end
    assert _links(dr, dags.dag, "start")[SparkUILink.name] == ""
    assert _links(dr, dags.dag, "end")[SparkUILink.name] == dags.SPARK_UI_URL
    assert _links(dr, dags.dag, "sensor")[SparkUILink.name] == dags.SPARK_UI_URL


def test_a_failed_task_links_to_the_run_it_persisted_and_one_that_knew_no_run_has_no_link(
    airflow_db: Any,
    links_dags: Any,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    dags = links_dags
    capfd.readouterr()
    dr = dags.failed_dag.test()
    out, err = capfd.readouterr()

    states = {ti.task_id: _state(ti) for ti in dr.get_task_instances()}
    assert states == {"start": "success", "spark": "success", "end": "failed", "load_missing": "failed"}
    run_id = derive_run_id(dr.dag_id, dr.run_id)
    # load_missing failed before it knew a run: it persisted nothing, and its links never asked
    # for the XCom (Airflow 3 logs "[error] XCom not found" for such a read)
    assert XCOM_RUN_LINK not in _xcoms(dr, "load_missing")
    assert [line for line in (out + err).splitlines() if "XCom" in line and "found" in line] == []

    # the end task recorded FAILED and then failed: its links show the run (and its Spark UI),
    # which is where one goes to see why
    _registry_out_of_reach(monkeypatch, dags.CONN_ID)
    end_links = _links(dr, dags.failed_dag, "end")
    assert _run_page(end_links[RegistryRunLink.name]) == (
        RUN_PAGE,
        {"pipeline_id": [dags.PIPELINE_ID], "run_id": [run_id]},
    )
    assert end_links[SparkUILink.name] == dags.SPARK_UI_URL
    assert _links(dr, dags.failed_dag, "load_missing") == {RegistryRunLink.name: "", SparkUILink.name: ""}
    persisted = {"pipeline_id": dags.PIPELINE_ID, "run_id": run_id, "spark_ui_url": dags.SPARK_UI_URL}
    assert _xcoms(dr, "end")[XCOM_RUN_LINK] == persisted


def test_only_an_http_address_is_ever_a_spark_ui_link() -> None:
    assert SparkUILink().format_link(spark_ui_url="javascript:alert(1)") == ""
    assert SparkUILink().format_link(spark_ui_url="HTTPS://spark.example/") == "HTTPS://spark.example/"
    assert RegistryRunLink().format_link(pipeline_id="p") == ""  # values from another version: no link

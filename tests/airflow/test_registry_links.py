"""The "Registry run" and "Spark UI" extra links of the operators, computed by real Airflow (dag.test()).

On Airflow 3 a task's extra links are evaluated in the worker when the task ends and stored in
XCom under ``_link_<class name>``; the UI reads them from there.
"""

from __future__ import annotations

import os
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from dag_modules import load_dag_module

from airflow_provider_pipeline_registry.links import RegistryRunLink, SparkUILink
from airflow_provider_pipeline_registry.registry.run_env import derive_run_id

#: a log line at error level or above, in the formats dag.test() prints (structlog and logging)
_ERROR_LINE = re.compile(r"\[\s*(error|critical|exception)\s*\]|\b(ERROR|CRITICAL)\b")

pytestmark = [pytest.mark.needs("airflow-3"), pytest.mark.airflow, pytest.mark.integration]


def _xcoms(dr: Any, task_id: str) -> dict[str, Any]:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.scalars(XComModel.get_many(run_id=dr.run_id, dag_ids=dr.dag_id, task_ids=task_id)).all()
        return {row.key: XComModel.deserialize_value(row) for row in rows}


def test_operators_link_to_their_registry_run_and_spark_ui(
    airflow_db: Any,
    registry_conn_id: str,
    registry_hook: Any,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    dags = load_dag_module("registry_links_dags.py")
    monkeypatch.setenv(f"AIRFLOW_CONN_{dags.CONN_ID.upper()}", os.environ[f"AIRFLOW_CONN_{registry_conn_id.upper()}"])
    registry_hook.pipelines_write.create({"pipeline_id": dags.PIPELINE_ID, "name": "Links"})

    capfd.readouterr()  # what came before the run
    dr = dags.dag.test()
    out, err = capfd.readouterr()

    assert str(getattr(dr.state, "value", dr.state)) == "success"
    # a green run logs no error: the links never ask for an XCom the task did not push (on Airflow 3
    # such a read logs "[error] XCom not found", twice per task with two links)
    logged = (out + err).splitlines()
    assert [line for line in logged if "XCom" in line and "found" in line] == []
    assert [line for line in logged if _ERROR_LINE.search(line)] == []
    run_id = derive_run_id(dr.dag_id, dr.run_id)
    registry_key = f"_link_{RegistryRunLink.__name__}"
    spark_key = f"_link_{SparkUILink.__name__}"
    for task_id in ("load", "start", "end", "sensor"):
        link = _xcoms(dr, task_id)[registry_key]
        parts = urlsplit(link)
        assert (parts.scheme, parts.netloc) == ("", "")  # a path inside Airflow's UI, no host
        assert parts.path == "/plugin/pipeline_registry/pipeline-registry/ui/run"
        assert parse_qs(parts.query) == {"pipeline_id": [dags.PIPELINE_ID], "run_id": [run_id]}
    # the Spark UI is known once the Spark task recorded it: not at the start, yes at the end
    assert _xcoms(dr, "start")[spark_key] == ""
    assert _xcoms(dr, "end")[spark_key] == dags.SPARK_UI_URL
    assert _xcoms(dr, "sensor")[spark_key] == dags.SPARK_UI_URL
    stored = registry_hook.runs.find_entity(run_id, dags.PIPELINE_ID, consistent=True)
    assert stored is not None
    assert stored.spark_ui_url == dags.SPARK_UI_URL

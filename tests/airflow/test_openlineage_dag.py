"""OpenLineage from the registry operators, under a real ``dag.test()`` in a fresh process.

With the OpenLineage provider's file transport configured, the emitted events of the load, start
and end tasks carry the pipeline's source tables as inputs and its active target tables as outputs
(named per the OpenLineage naming spec), the end's completion event the output statistics of the
run's metrics, and a failed end the run's error. With the provider made unimportable, the same
DAG runs green and the methods answer None. DAGs: tests/dags/lineage_dags.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from airflow_connections import REGISTRY_CONN_ID  # tests/airflow/conftest.py
from dag_modules import load_dag_module
from test_assets_dag import seed_lineage_pipeline
from test_assets_parse import _facet_validator

pytestmark = [pytest.mark.needs("airflow-3"), pytest.mark.airflow, pytest.mark.integration]

TESTS = Path(__file__).resolve().parents[1]
RUNNER = Path(__file__).resolve().parent / "lineage_runner.py"
#: the source table's location holds these (tests/dags/lineage_dags.py)
AWS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
AWS_SECRET_PART = "wJalrXUtnFEMI"
INPUTS = {("s3://lake", "raw/orders"), ("pipeline-registry", "lineage.customers")}
OUTPUTS = {("s3://lake", "curated/orders_by_day"), ("pipeline-registry", "lineage.orders_index")}


@pytest.fixture(scope="module")
def dags() -> ModuleType:
    return load_dag_module("lineage_dags.py")


def run_dags(tmp_path: Path, dag_ids: list[str], *, extra_env: dict[str, str], block: bool = False) -> dict[str, Any]:
    """Run ``dag_ids`` with ``lineage_runner.py`` in its own AIRFLOW_HOME; its JSON summary."""
    home = tmp_path / "airflow"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "OPENLINEAGE"))}
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__DAGS_FOLDER=str(TESTS / "dags"),
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home}/airflow.db",
        AIRFLOW__CORE__UNIT_TEST_MODE="True",
        AIRFLOW_CONN_PR_LINEAGE=os.environ[f"AIRFLOW_CONN_{REGISTRY_CONN_ID.upper()}"],
        **extra_env,
    )
    summary_file = tmp_path / "summary.json"
    args = [sys.executable, str(RUNNER), str(summary_file), *dag_ids] + (["--block-openlineage"] if block else [])
    result = subprocess.run(args, env=env, capture_output=True, text=True, timeout=900, check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    assert summary_file.exists(), output[-6000:]
    summary: dict[str, Any] = json.loads(summary_file.read_text(encoding="utf-8"))
    summary["output"] = output
    return summary


def file_transport(path: Path) -> str:
    """The OpenLineage provider's ``transport`` setting: one JSON event per line in ``path``."""
    return json.dumps({"type": "file", "log_file_path": str(path), "append": True})


def events_of(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def datasets(event: dict[str, Any], kind: str) -> set[tuple[str, str]]:
    return {(d["namespace"], d["name"]) for d in event.get(kind, [])}


def task_event(events: list[dict[str, Any]], job_name: str, event_type: str) -> dict[str, Any]:
    found = [e for e in events if e["job"]["name"] == job_name and e["eventType"] == event_type]
    assert found, f"no {event_type} event of {job_name}: {sorted({(e['job']['name'], e['eventType']) for e in events})}"
    return found[-1]


def test_file_transport_events_hold_the_pipeline_datasets_and_statistics(
    registry_hook: Any, dags: ModuleType, tmp_path: Path
) -> None:
    seed_lineage_pipeline(registry_hook.registry, dags)
    log_file = tmp_path / "openlineage.jsonl"
    summary = run_dags(
        tmp_path,
        ["pr_lineage_success", "pr_lineage_end_fails"],
        extra_env={
            "AIRFLOW__OPENLINEAGE__TRANSPORT": file_transport(log_file),
            "AIRFLOW__OPENLINEAGE__NAMESPACE": "pr-tests",
            "AIRFLOW__OPENLINEAGE__EXECUTE_IN_THREAD": "True",
        },
    )
    assert summary["states"] == {"pr_lineage_success": "success", "pr_lineage_end_fails": "failed"}
    events = events_of(log_file)
    for task_id in ("load", "start", "end"):
        for event_type in ("START", "COMPLETE"):
            event = task_event(events, f"pr_lineage_success.{task_id}", event_type)
            assert datasets(event, "inputs") == INPUTS, (task_id, event_type)
            assert datasets(event, "outputs") == OUTPUTS, (task_id, event_type)
    complete = task_event(events, "pr_lineage_success.end", "COMPLETE")
    outputs = complete["outputs"]
    stats = {(d["namespace"], d["name"]): d.get("outputFacets", {}).get("outputStatistics") for d in outputs}
    assert stats[("s3://lake", "curated/orders_by_day")]["rowCount"] == 35
    assert stats[("pipeline-registry", "lineage.orders_index")]["rowCount"] == 7
    # the start's completion comes before the Spark job: no statistics yet
    started = task_event(events, "pr_lineage_success.start", "COMPLETE")
    assert all("outputStatistics" not in d.get("outputFacets", {}) for d in started["outputs"])
    registry_run = complete["run"]["facets"]["pipelineRegistry_run"]
    assert registry_run["pipelineId"] == dags.PIPELINE_ID
    assert registry_run["status"] == "SUCCESS"
    assert registry_run["runId"].startswith("pr_lineage_success/")
    # a failed end: the error in the errorMessage facet (the listener puts the task's exception
    # there) and the run's own error in the pipelineRegistry_run facet
    failed = task_event(events, "pr_lineage_end_fails.end", "FAIL")
    assert datasets(failed, "outputs") == OUTPUTS
    assert "failed task(s): boom" in failed["run"]["facets"]["errorMessage"]["message"]
    failed_run = failed["run"]["facets"]["pipelineRegistry_run"]
    assert failed_run["status"] == "FAILED"
    assert failed_run["errorType"] == "TaskFailed"
    assert failed_run["errorMessage"] == "failed task(s): boom"
    # the custom facet as emitted: the spec's RunFacet _schemaURL, valid against the shipped schema
    validator = _facet_validator()
    for emitted in (registry_run, failed_run):
        assert emitted["_schemaURL"] == "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunFacet"
        validator.validate({"pipelineRegistry_run": emitted})  # type: ignore[attr-defined]
    assert all("pipelineRegistryRun" not in e["run"]["facets"] for e in events)
    # the source table's location carries an access key and secret: no event holds either
    text = log_file.read_text()
    assert "s3://lake" in text
    assert AWS_KEY_ID not in text
    assert AWS_SECRET_PART not in text


def test_without_the_openlineage_provider_nothing_breaks(registry_hook: Any, dags: ModuleType, tmp_path: Path) -> None:
    seed_lineage_pipeline(registry_hook.registry, dags)
    log_file = tmp_path / "openlineage.jsonl"
    summary = run_dags(
        tmp_path,
        ["pr_lineage_success"],
        block=True,
        extra_env={
            "AIRFLOW__OPENLINEAGE__TRANSPORT": file_transport(log_file),
        },
    )
    assert summary["states"] == {"pr_lineage_success": "success"}
    assert summary["facets"] == {"openlineage_importable": False, "on_start": "None", "operator_lineage": "None"}
    assert not log_file.exists()
    run = registry_hook.registry.runs.latest(dags.PIPELINE_ID)
    assert run is not None
    assert run.status.value == "SUCCESS"

"""Data-aware scheduling on a real deployment: the producer's end operator emits the asset event of
its pipeline's target table on SUCCESS, the scheduler starts the consumer from it (no sensor), a
FAILED run emits nothing. DAGs: tests/deployment/dags/deployment_assets.py; fixtures: conftest.py.
"""

from __future__ import annotations

import importlib.util
import uuid
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from deployment_harness import DeployedRegistry, Deployment

from airflow_provider_pipeline_registry.registry.run_env import derive_run_id

SCENARIO_DAGS = Path(__file__).resolve().parent / "dags"


def _scenario() -> ModuleType:
    spec = importlib.util.spec_from_file_location("deployment_assets", SCENARIO_DAGS / "deployment_assets.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def assets_scenario(deployment: Deployment, deployed_registry: DeployedRegistry) -> ModuleType:
    scenario = _scenario()
    registry = deployed_registry.registry
    registry.pipelines_write.upsert({"pipeline_id": scenario.PIPELINE_ID, "name": "asset scenario", "owner": "tests"})
    registry.tables_write.batch_upsert(
        [{"pipeline_id": scenario.PIPELINE_ID, "table_name": t["table_id"], **t} for t in scenario.TABLES]
    )
    deployment.wait_for_dag("deploy_assets_producer")
    deployment.wait_for_dag("deploy_assets_consumer")
    return scenario


def events_from(deployment: Deployment, dag_id: str, run_id: str) -> list[dict[str, Any]]:
    """The asset events a dag run produced. Airflow 3.3's events endpoint answers 500 while a dag
    run the event created has no start date yet (its response model requires one): read again."""
    path = f"/assets/events?source_dag_id={dag_id}&source_run_id={run_id}&limit=100"

    def read() -> list[dict[str, Any]] | None:
        answer = deployment.api("GET", path, ok=(200, 500))
        return list(answer["asset_events"]) if isinstance(answer, dict) and "asset_events" in answer else None

    return deployment.wait_for(f"GET /api/v2{path} to answer 200", read, timeout=180)


def consumer_runs(deployment: Deployment) -> list[dict[str, Any]]:
    answer = deployment.api("GET", "/dags/deploy_assets_consumer/dagRuns?limit=100")
    return list(answer["dag_runs"])


def queued_events(deployment: Deployment) -> list[dict[str, Any]]:
    answer = deployment.api("GET", "/dags/deploy_assets_consumer/assets/queuedEvents", ok=(200, 404))
    return list((answer or {}).get("queued_events") or [])


def test_a_failed_producer_run_emits_nothing_and_starts_nothing(
    deployment: Deployment, deployed_registry: DeployedRegistry, assets_scenario: ModuleType
) -> None:
    run_id = deployment.trigger("deploy_assets_producer", f"test_fail_{uuid.uuid4().hex[:6]}", conf={"fail": True})
    deployment.wait_for_dag_run("deploy_assets_producer", run_id)
    assert deployment.task_states("deploy_assets_producer", run_id)["end"] == "success"
    run = deployed_registry.run(assets_scenario.PIPELINE_ID, "deploy_assets_producer", run_id)
    assert run["status"] == "FAILED"
    # the events are registered when the end task succeeds, before its dag run finishes: none here
    assert events_from(deployment, "deploy_assets_producer", run_id) == []
    assert queued_events(deployment) == []
    assert all(r["run_type"] != "asset_triggered" for r in consumer_runs(deployment))


def test_a_successful_producer_run_starts_the_consumer_with_the_run_figures(
    deployment: Deployment, deployed_registry: DeployedRegistry, assets_scenario: ModuleType
) -> None:
    run_id = deployment.trigger("deploy_assets_producer", f"test_ok_{uuid.uuid4().hex[:6]}")
    produced = deployment.wait_for_dag_run("deploy_assets_producer", run_id)
    assert produced["state"] == "success"
    run = deployed_registry.run(assets_scenario.PIPELINE_ID, "deploy_assets_producer", run_id)
    assert run["status"] == "SUCCESS"
    events = events_from(deployment, "deploy_assets_producer", run_id)
    assert [e["uri"] for e in events] == [assets_scenario.TARGET_URI]
    extra = events[0]["extra"]
    assert extra["run_id"] == derive_run_id("deploy_assets_producer", run_id) == run["run_id"]
    assert extra["try_number"] == 1
    assert extra["records_written"] == 11
    # the extra holds the storage form (UTC, fixed width, "Z"); the view shows the user's timezone
    assert extra["end_time"].endswith("Z")
    assert datetime.fromisoformat(extra["end_time"].replace("Z", "+00:00")) == datetime.fromisoformat(run["end_time"])

    def triggered() -> dict[str, Any] | None:
        runs = [r for r in consumer_runs(deployment) if r["run_type"] == "asset_triggered"]
        return runs[0] if runs else None

    consumer_run = deployment.wait_for("the consumer to be started by the asset event", triggered, timeout=300)
    finished = deployment.wait_for_dag_run("deploy_assets_consumer", consumer_run["dag_run_id"])
    assert finished["state"] == "success"
    consume = f"/dags/deploy_assets_consumer/dagRuns/{consumer_run['dag_run_id']}/taskInstances/consume"
    xcom = deployment.api("GET", f"{consume}/xcomEntries/return_value?deserialize=true&stringify=false")
    value = xcom["value"]
    # (triggering_asset_events may list the event once per key it is reachable by: asset and alias)
    assert value
    assert {e["run_id"] for e in value} == {run["run_id"]}
    assert {e["records_written"] for e in value} == {11}

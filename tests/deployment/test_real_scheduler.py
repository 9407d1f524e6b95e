"""The provider on a real Airflow 3 deployment: api-server, dag-processor, scheduler, triggerer.

Driven through the REST API (``/api/v2``) as a user would; real spark-submit, DynamoDB Local.
The dag runs of the scenarios are started together (``scenario_runs``) so their Spark jobs overlap;
each test then waits (bounded) for the one it checks.
"""

from __future__ import annotations

import importlib.util
import os
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

import pytest
from deployment_harness import REPO_ROOT, DeployedRegistry, Deployment, DeploymentError


def demo_module() -> ModuleType:
    """scripts/demo.py (its sample sales writer), imported without running it."""
    spec = importlib.util.spec_from_file_location("pipeline_registry_demo", REPO_ROOT / "scripts" / "demo.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def parse_time(value: str | None) -> datetime:
    assert value, "no time recorded"
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class ScenarioRuns:
    """The dag run ids of the scenarios, started once per session."""

    deployment: Deployment
    registry: DeployedRegistry
    ids: dict[str, str] = field(default_factory=dict)

    def start(self, dag_id: str) -> str:
        run_id = f"test_{dag_id}_{uuid.uuid4().hex[:6]}"
        self.ids[dag_id] = self.deployment.trigger(dag_id, run_id)
        return run_id


@pytest.fixture(scope="session")
def scenario_runs(deployment: Deployment, deployed_registry: DeployedRegistry) -> ScenarioRuns:
    runs = ScenarioRuns(deployment, deployed_registry)
    # (a) the downstream DAG first: its sensor finds no run yet and must defer to the triggerer.
    # The jobs that end by themselves overlap; the ones a test stops start in their own fixtures
    # (a Spark driver waiting to be stopped would hold a slot and a JVM all along).
    runs.start("example_downstream_pipeline")
    runs.start("deploy_raises")
    runs.start("deploy_retry")
    return runs


# -- (a) both example DAGs; the sensor defers and resumes through the triggerer -------------------
@pytest.fixture(scope="session")
def examples(scenario_runs: ScenarioRuns) -> dict[str, Any]:
    deployment = scenario_runs.deployment
    downstream = scenario_runs.ids["example_downstream_pipeline"]
    deferred = deployment.wait_for_task_state(
        "example_downstream_pipeline", downstream, "wait_for_sales_daily", ("deferred",), timeout=300
    )
    upstream = scenario_runs.start("example_spark_pipeline")
    upstream_run = deployment.wait_for_dag_run("example_spark_pipeline", upstream, timeout=900)
    downstream_run = deployment.wait_for_dag_run("example_downstream_pipeline", downstream, timeout=300)
    return {
        "deferred": deferred,
        "upstream": upstream_run,
        "downstream": downstream_run,
        # example_spark_pipeline is a PipelineRunTaskGroup: the group (the pipeline id) is part of the run id
        "run_log": scenario_runs.registry.run("sales_daily", "example_spark_pipeline", upstream, "sales_daily"),
    }


def test_example_dags_succeed_and_the_sensor_resumes_from_the_triggerer(
    examples: dict[str, Any], scenario_runs: ScenarioRuns
) -> None:
    deployment = scenario_runs.deployment
    assert examples["deferred"]["state"] == "deferred"
    upstream, downstream = examples["upstream"], examples["downstream"]
    assert upstream["state"] == "success", deployment.task_states("example_spark_pipeline", upstream["dag_run_id"])
    assert downstream["state"] == "success", deployment.task_states(
        "example_downstream_pipeline", downstream["dag_run_id"]
    )
    sensor = deployment.task_instance("example_downstream_pipeline", downstream["dag_run_id"], "wait_for_sales_daily")
    assert sensor["state"] == "success"
    assert sensor["try_number"] == 1  # resumed after the deferral, not retried
    log = deployment.task_log("example_downstream_pipeline", downstream["dag_run_id"], "wait_for_sales_daily", 1)
    assert "does not exist yet" in log or "no run" in log.lower(), log[-3000:]
    run = examples["run_log"]
    assert run["status"] == "SUCCESS"
    assert run["metrics"]["records_read"] == 2000
    assert str(run["spark_application_id"]).startswith("local-")
    assert run["dag_id"] == "example_spark_pipeline"
    assert run["try_number"] == 1
    report = deployment.task_log("example_downstream_pipeline", downstream["dag_run_id"], "report", 1)
    assert f"sales_daily run {run['run_id']} ended SUCCESS" in report


def test_run_log_names_the_task_that_ran_the_job(examples: dict[str, Any]) -> None:
    """The Airflow identity of the run names the Spark task, on a first try as after a retry."""
    assert examples["run_log"]["task_id"] == "sales_daily.run_spark_job"


def test_the_incremental_example_run_again_reads_only_the_new_rows(
    examples: dict[str, Any], scenario_runs: ScenarioRuns
) -> None:
    """The example pipeline is incremental: after its first run committed the source's watermark,
    new sales arrive; the second dag run, under the same scheduler, reads only those (its
    ``records_read``) and moves the watermark from the first run's high bound to the new one."""
    deployment, registry = scenario_runs.deployment, scenario_runs.registry
    demo = demo_module()
    source = "sales_daily.raw_sales"
    first = examples["run_log"]
    assert first["metrics"]["records_read"] == demo.FIRST_SALES
    assert registry.registry.tables.watermark(source).value == str(demo.FIRST_SALES - 1)

    demo.add_new_sales(registry.markers_dir.parent / "data" / "raw" / "sales")
    again = scenario_runs.start("example_spark_pipeline")
    dag_run = deployment.wait_for_dag_run("example_spark_pipeline", again, timeout=900)
    assert dag_run["state"] == "success", deployment.task_states("example_spark_pipeline", again)
    second = registry.run("sales_daily", "example_spark_pipeline", again, "sales_daily")
    assert second["status"] == "SUCCESS"
    assert second["metrics"]["records_read"] == demo.NEW_SALES
    committed = second["watermark_commits"][source]
    assert (committed["from"], committed["to"]) == (
        str(demo.FIRST_SALES - 1),
        str(demo.FIRST_SALES + demo.NEW_SALES - 1),
    )
    moves = [(e.run_id, e.from_value, e.to_value) for e in registry.registry.tables.watermark_history(source)]
    assert moves == [
        (first["run_id"], None, str(demo.FIRST_SALES - 1)),
        (second["run_id"], str(demo.FIRST_SALES - 1), str(demo.FIRST_SALES + demo.NEW_SALES - 1)),
    ]


# -- (b) a job that raises ---------------------------------------------------------------------
def test_a_job_that_raises_fails_its_run_dag_run_and_the_sensor_waiting_for_it(scenario_runs: ScenarioRuns) -> None:
    deployment, registry = scenario_runs.deployment, scenario_runs.registry
    run_id = scenario_runs.ids["deploy_raises"]
    dag_run = deployment.wait_for_dag_run("deploy_raises", run_id)
    states = deployment.task_states("deploy_raises", run_id)
    assert dag_run["state"] == "failed", states
    assert states == {
        "load_config": "success",
        "start_run": "success",
        "run_spark_job": "failed",
        "end_run": "failed",  # fail_on_pipeline_failure: the dag run's state reflects the pipeline's
    }
    run = registry.run("deploy_raises", "deploy_raises", run_id)
    assert run["status"] == "FAILED"
    assert run["error_type"] == "ValueError"
    assert "deployment scenario: bad input row 7" in run["error_message"]
    assert run["end_time"] is not None
    # the failure callback ran in the worker, after the task failed (it found the run already FAILED)
    spark_log = deployment.task_log("deploy_raises", run_id, "run_spark_job", 1)
    assert f"pipeline-registry callback: run '{run['run_id']}' of pipeline 'deploy_raises'" in spark_log, spark_log[
        -4000:
    ]

    # a downstream sensor on that pipeline fails at once (in its first look), not at its 2 h timeout
    downstream = scenario_runs.start("deploy_raises_downstream")
    sensor_run = deployment.wait_for_dag_run("deploy_raises_downstream", downstream, timeout=240)
    assert sensor_run["state"] == "failed"
    sensor = deployment.task_instance("deploy_raises_downstream", downstream, "wait_for_deploy_raises")
    assert sensor["state"] == "failed"
    assert sensor["try_number"] == 1
    sensor_log = deployment.task_log("deploy_raises_downstream", downstream, "wait_for_deploy_raises", 1)
    assert "PipelineRunFailedError" in sensor_log
    assert "the run ended as FAILED: ValueError: deployment scenario: bad input row 7" in sensor_log


# -- (c) and (d): the user stops a running job -----------------------------------------------------
@dataclass
class Stopped:
    dag_run: dict[str, Any]
    task_states: dict[str, str | None]
    run: dict[str, Any]
    driver_gone_at: datetime
    requested_at: datetime


def stop_running_job(scenario_runs: ScenarioRuns, dag_id: str, pipeline_id: str, *, whole_run: bool) -> Stopped:
    """Wait until the scenario's Spark driver runs, mark the task (or the dag run) failed through the
    REST API, watch the driver until it is gone, then wait for the dag run and the run log to end."""
    deployment, registry = scenario_runs.deployment, scenario_runs.registry
    run_id = scenario_runs.ids[dag_id]
    marker = registry.markers_dir / f"{pipeline_id}.pid"
    pid = deployment.wait_for(
        f"the Spark driver of {dag_id} to start", lambda: int(marker.read_text()) if marker.exists() else None, 900
    )
    deployment.wait_for(
        f"the run log of {dag_id} to be RUNNING",
        lambda: True if registry.run(pipeline_id, dag_id, run_id)["status"] == "RUNNING" else None,
        60,
    )
    requested_at = datetime.now(UTC)
    if whole_run:
        deployment.set_dag_run_state(dag_id, run_id, "failed")
    else:
        deployment.set_task_state(dag_id, run_id, "run_spark_job", "failed")
    deadline = time.monotonic() + 180
    while pid_alive(pid):
        if time.monotonic() > deadline:
            raise deployment.fail(f"the Spark driver {pid} of {dag_id} still runs 180 s after it was marked failed")
        time.sleep(0.1)
    gone_at = datetime.now(UTC)
    dag_run = deployment.wait_for_dag_run(dag_id, run_id, timeout=240)

    def ended() -> dict[str, Any] | None:
        run = registry.run(pipeline_id, dag_id, run_id)
        return run if run["status"] != "RUNNING" else None

    try:
        run = deployment.wait_for(f"the run log of {dag_id} to end", ended, 120)
    except DeploymentError as exc:
        raise AssertionError(f"the run was left RUNNING: {registry.run(pipeline_id, dag_id, run_id)}\n{exc}") from None
    return Stopped(dag_run, deployment.task_states(dag_id, run_id), run, gone_at, requested_at)


@pytest.fixture(scope="session")
def stoppable_runs(scenario_runs: ScenarioRuns) -> ScenarioRuns:
    """The two DAGs whose job waits until the user stops it, started together."""
    scenario_runs.start("deploy_mark_task_failed")
    scenario_runs.start("deploy_mark_run_failed")
    return scenario_runs


@pytest.fixture(scope="session")
def task_marked_failed(stoppable_runs: ScenarioRuns) -> Stopped:
    return stop_running_job(stoppable_runs, "deploy_mark_task_failed", "deploy_wait_task", whole_run=False)


@pytest.fixture(scope="session")
def dag_run_marked_failed(stoppable_runs: ScenarioRuns) -> Stopped:
    return stop_running_job(stoppable_runs, "deploy_mark_run_failed", "deploy_wait_run", whole_run=True)


def test_spark_task_marked_failed_ends_the_run_and_the_dag_run(task_marked_failed: Stopped) -> None:
    """Never left RUNNING, the dag run failed, the job's driver stopped."""
    stopped = task_marked_failed
    assert stopped.dag_run["state"] == "failed"
    assert stopped.task_states["run_spark_job"] == "failed"
    assert stopped.run["status"] in ("CANCELLED", "FAILED")
    assert stopped.run["end_time"] is not None


def test_spark_task_marked_failed_records_one_outcome_with_the_true_end_time(
    task_marked_failed: Stopped, scenario_runs: ScenarioRuns
) -> None:
    """The documented outcome: the driver, stopped by the user's action, records CANCELLED when it
    really ends; the end task reports that CANCELLED (it never writes FAILED over a running job)."""
    stopped = task_marked_failed
    run = stopped.run
    assert run["status"] == "CANCELLED", run
    # ended by the user's action: not before it (the driver records CANCELLED as the signal reaches
    # it; the process itself may take seconds more to shut Spark down)
    assert stopped.requested_at <= parse_time(run["end_time"]) <= stopped.driver_gone_at
    end_log = scenario_runs.deployment.task_log("deploy_mark_task_failed", stopped.dag_run["dag_run_id"], "end_run", 1)
    assert "CANCELLED" in end_log, end_log[-3000:]
    assert "FAILED" not in end_log.split("CANCELLED", 1)[0].splitlines()[-1], end_log[-3000:]


def test_dag_run_marked_failed_cancels_the_run_at_its_true_end(dag_run_marked_failed: Stopped) -> None:
    stopped = dag_run_marked_failed
    assert stopped.dag_run["state"] == "failed"
    assert stopped.task_states["run_spark_job"] == "failed"
    run = stopped.run
    assert run["status"] == "CANCELLED", run
    # recorded by the driver when the stop reached it: after the request, before the driver was gone
    assert stopped.requested_at <= parse_time(run["end_time"]) <= stopped.driver_gone_at


# -- (e) a retry ---------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def retried(scenario_runs: ScenarioRuns) -> dict[str, Any]:
    deployment, registry = scenario_runs.deployment, scenario_runs.registry
    run_id = scenario_runs.ids["deploy_retry"]
    dag_run = deployment.wait_for_dag_run("deploy_retry", run_id, timeout=900)
    return {
        "dag_run": dag_run,
        "tries": deployment.tries("deploy_retry", run_id, "run_spark_job"),
        "run": registry.run("deploy_retry", "deploy_retry", run_id),
    }


def test_a_retry_runs_the_job_again_and_the_run_succeeds_in_try_2(retried: dict[str, Any]) -> None:
    assert retried["dag_run"]["state"] == "success"
    tries = {t["try_number"]: t["state"] for t in retried["tries"]}
    assert tries == {1: "up_for_retry", 2: "success"} or tries == {1: "failed", 2: "success"}, tries
    run = retried["run"]
    assert run["status"] == "SUCCESS"
    assert run["try_number"] == 2
    assert run["task_id"] == "run_spark_job"
    assert not run.get("error_message")  # the retry's success clears the first try's error


def test_a_retry_keeps_the_attempt_history(retried: dict[str, Any]) -> None:
    """The run is the current attempt (try 2); ``attempts`` holds the previous ones (bounded)."""
    run = retried["run"]
    attempts = run["attempts"]
    assert [a["try_number"] for a in attempts] == [1]
    (first,) = attempts
    assert first["status"] == "FAILED"
    assert "the first try fails on purpose" in first["error_message"]
    assert (run["status"], run["try_number"]) == ("SUCCESS", 2)
    assert first["attempt_id"] != run["attempt_id"]
    assert parse_time(first["end_time"]) <= parse_time(run["start_time"])
    assert str(first["spark_application_id"]).startswith("local-")
    assert str(run["spark_application_id"]).startswith("local-")

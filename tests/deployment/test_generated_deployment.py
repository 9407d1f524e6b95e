"""Generated DAGs on a real deployment (api-server, dag-processor, scheduler, triggerer).

The pipelines are imported with ``pipeline-registry config import`` and the snapshot written with
``pipeline-registry dags snapshot`` (the CI path); ``tests/deployment/dags/deployment_generated.py``
makes a DAG of each active pipeline tagged ``deploy-generated``. Checked:

* a new pipeline's DAG appears within the documented bound (the dag-processor's re-parse interval
  of the file, ``[dag_processor] min_file_process_interval``, plus the parse) and runs (``@once``),
  its templated arguments reaching the job rendered and recorded rendered on the run;
* ``after:<pipeline>``: the downstream DAG runs after the upstream's SUCCESS (from the asset event
  of its target table), and nothing runs after a FAILED upstream (no event, nothing queued);
* deactivated, then the snapshot's maintenance DAG run, the DAG disappears within its documented
  bound (Airflow marks a DAG missing from its file stale after ``stale_dag_threshold``, checked
  every ``parsing_cleanup_interval``).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from deployment_harness import DeployedRegistry, Deployment

from airflow_provider_pipeline_registry.registry.run_env import derive_run_id

SCENARIO_JOB = Path(__file__).resolve().parent / "dags" / "jobs" / "scenario_job.py"
SPARK_CONF = {"spark.ui.enabled": "false", "spark.sql.shuffle.partitions": "1", "spark.sql.session.timeZone": "UTC"}
#: Airflow 3.3's defaults: how often a DAG file is re-parsed ([dag_processor] min_file_process_interval),
#: how long a DAG must have been missing from its parsed file to be deactivated
#: ([dag_processor] stale_dag_threshold), and how often that is checked ([scheduler] parsing_cleanup_interval)
REPARSE_SECONDS, STALE_THRESHOLD_SECONDS, CLEANUP_SECONDS = 30.0, 50.0, 60.0
#: slack for the parses themselves and the dag-processor's pass over the folder (2 cores shared here)
SLACK_SECONDS = 60.0
#: the documented bounds after a snapshot is written (README: Pipelines as code): a new DAG appears
#: at the next parse; a DAG gone from the file is marked stale once a parse finishes more than the
#: threshold after its last parse, at the next cleanup check
APPEAR_SECONDS = REPARSE_SECONDS + SLACK_SECONDS
DISAPPEAR_SECONDS = STALE_THRESHOLD_SECONDS + REPARSE_SECONDS + CLEANUP_SECONDS + SLACK_SECONDS
TAG = "deploy-generated"


def pipeline(pipeline_id: str, mode: str, markers: Path, data: Path, **fields: Any) -> dict[str, Any]:
    return {
        "pipeline_id": pipeline_id,
        "name": f"generated {pipeline_id}",
        "owner": "deploy-team",
        "tags": [TAG, "generated-test"],
        "spark_application": str(SCENARIO_JOB),
        "spark_conf": SPARK_CONF,
        "spark_args": [mode, str(markers)],
        "dag": {"retries": 0},
        "tables": [
            {
                "table_id": f"{pipeline_id}.out",
                "table_name": "out",
                "role": "target",
                "format": "parquet",
                "location": str(data / pipeline_id / "out"),
            }
        ],
        **fields,
    }


def cli(deployed: DeployedRegistry, *args: str) -> str:
    config = deployed.registry.config
    command = [
        str(Path(sys.executable).parent / "pipeline-registry"),
        "--endpoint-url",
        str(config.endpoint_url),
        "--table-prefix",
        deployed.prefix,
        *args,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def dag_state(deployment: Deployment, dag_id: str) -> str:
    """``present``, ``stale`` (no longer in any DAG file) or ``missing``."""
    answer = deployment.api("GET", f"/dags/{dag_id}", ok=(200, 404))
    if not isinstance(answer, dict) or "dag_id" not in answer:
        return "missing"
    return "stale" if answer.get("is_stale") else "present"


def wait_for_dag_state(
    deployment: Deployment, dag_id: str, wanted: tuple[str, ...], since: float, bound: float
) -> float:
    """Seconds from ``since`` until ``dag_id`` is in one of ``wanted`` (fails after ``bound``, with 5 s
    for the polling)."""
    deployment.wait_for(
        f"DAG {dag_id} to be {'/'.join(wanted)}",
        lambda: dag_state(deployment, dag_id) in wanted or None,
        timeout=bound + 5 - (time.monotonic() - since),
        interval=1,
    )
    return time.monotonic() - since


def dag_runs(deployment: Deployment, dag_id: str) -> list[dict[str, Any]]:
    return list(deployment.api("GET", f"/dags/{dag_id}/dagRuns?limit=100")["dag_runs"])


def first_run(deployment: Deployment, dag_id: str, timeout: float = 600) -> dict[str, Any]:
    run = deployment.wait_for(f"a run of {dag_id}", lambda: (dag_runs(deployment, dag_id) or [None])[0], timeout)
    return deployment.wait_for_dag_run(dag_id, run["dag_run_id"])


def received(deployed: DeployedRegistry, pipeline_id: str, dag_run_id: str) -> dict[str, Any]:
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{pipeline_id}.{dag_run_id}")
    return dict(json.loads((deployed.markers_dir / f"{name}.json").read_text()))


@pytest.fixture(scope="module")
def generated(deployment: Deployment, deployed_registry: DeployedRegistry, tmp_path_factory: Any) -> dict[str, Any]:
    """Five pipelines imported with the CLI, then the snapshot written with the CLI."""
    work = tmp_path_factory.mktemp("generated")
    markers, data = deployed_registry.markers_dir, work / "data"
    new_args = ["echo", str(markers), "--day", "{{ ds }}", "--run", "{{ run_id }}", "--password", "genPw-31337"]
    down_args = ["echo", str(markers), "--run", "{{ run_id }}", "--dag", "{{ dag.dag_id }}"]
    pipelines = [
        pipeline("gen_new", "echo", markers, data, schedule="@once", parameters={"day": "{{ ds_nodash }}"}),
        pipeline("gen_up", "ok", markers, data, schedule="manual"),
        pipeline("gen_down", "echo", markers, data, schedule="after:gen_up"),
        pipeline("gen_up_fail", "raise", markers, data, schedule=None),
        pipeline("gen_down_fail", "ok", markers, data, schedule="after: gen_up_fail"),
    ]
    pipelines[0]["spark_args"] = new_args
    pipelines[2]["spark_args"] = down_args
    config_file = work / "pipelines.yaml"
    config_file.write_text(yaml.safe_dump({"pipelines": pipelines}))
    snapshot = Path(deployment.env["PIPELINE_REGISTRY_DAG_SNAPSHOT"])
    deployment.wait_for_dag("pipeline_registry_dag_snapshot")  # the generated file parses without gen DAGs
    assert dag_state(deployment, "gen__gen_new") == "missing"
    cli(deployed_registry, "config", "import", str(config_file))
    cli(deployed_registry, "dags", "snapshot", "-o", str(snapshot))
    written = time.monotonic()
    appeared = wait_for_dag_state(deployment, "gen__gen_new", ("present",), written, APPEAR_SECONDS)
    for name in ("gen_up", "gen_down", "gen_up_fail", "gen_down_fail"):
        wait_for_dag_state(deployment, f"gen__{name}", ("present",), written, APPEAR_SECONDS)
    return {"appeared": appeared, "config_file": config_file, "pipelines": pipelines, "snapshot": snapshot}


def test_an_imported_pipeline_gets_its_dag_within_the_bound_and_it_runs_with_rendered_arguments(
    generated: dict[str, Any], deployment: Deployment, deployed_registry: DeployedRegistry
) -> None:
    assert generated["appeared"] <= APPEAR_SECONDS
    dag = deployment.api("GET", "/dags/gen__gen_new")
    assert sorted(t["name"] for t in dag["tags"]) == sorted(["pipeline-registry", TAG, "generated-test"])
    assert [o["name"] if isinstance(o, dict) else o for o in dag.get("owners", [])] == ["deploy-team"]
    run = first_run(deployment, "gen__gen_new")  # @once: the scheduler starts it by itself
    states = deployment.task_states("gen__gen_new", run["dag_run_id"])
    assert run["state"] == "success", states
    assert run["run_type"] == "scheduled"
    day = str(run["logical_date"])[:10]
    got = received(deployed_registry, "gen_new", run["dag_run_id"])
    assert got["args"][2:] == ["--day", day, "--run", run["dag_run_id"], "--password", "genPw-31337"]
    assert got["parameters"] == {"day": day.replace("-", "")}
    stored = deployed_registry.registry.runs.find_by_id(
        derive_run_id("gen__gen_new", run["dag_run_id"], "gen_new"), "gen_new", consistent=True
    )
    assert stored is not None
    assert stored.status.value == "SUCCESS"
    assert stored.task_id == "gen_new.run_spark_job"
    assert stored.arguments["spark_args"][2:] == ["--day", day, "--run", run["dag_run_id"], "--password", "***"]
    assert stored.arguments["parameters"] == {"day": day.replace("-", "")}


def test_after_pipeline_runs_after_the_upstream_success_and_not_after_its_failure(
    generated: dict[str, Any], deployment: Deployment, deployed_registry: DeployedRegistry
) -> None:
    up = deployment.trigger("gen__gen_up", f"test_up_{uuid.uuid4().hex[:6]}")
    up_fail = deployment.trigger("gen__gen_up_fail", f"test_up_fail_{uuid.uuid4().hex[:6]}")
    assert deployment.wait_for_dag_run("gen__gen_up", up)["state"] == "success"
    assert deployment.wait_for_dag_run("gen__gen_up_fail", up_fail)["state"] == "failed"

    down = first_run(deployment, "gen__gen_down", timeout=300)
    assert down["state"] == "success", deployment.task_states("gen__gen_down", down["dag_run_id"])
    assert down["run_type"] == "asset_triggered"
    got = received(deployed_registry, "gen_down", down["dag_run_id"])
    assert got["args"][2:] == ["--run", down["dag_run_id"], "--dag", "gen__gen_down"]

    # the failed upstream emitted nothing, so nothing is queued or run downstream of it
    events = deployment.api("GET", f"/assets/events?source_dag_id=gen__gen_up_fail&source_run_id={up_fail}")
    assert events["asset_events"] == []
    queued = deployment.api("GET", "/dags/gen__gen_down_fail/assets/queuedEvents", ok=(200, 404))
    assert not (isinstance(queued, dict) and queued.get("queued_events"))
    assert dag_runs(deployment, "gen__gen_down_fail") == []


def test_a_deactivated_pipeline_disappears_after_the_maintenance_dag_refreshes_the_snapshot(
    generated: dict[str, Any], deployment: Deployment, deployed_registry: DeployedRegistry, tmp_path: Path
) -> None:
    first_run(deployment, "gen__gen_new")  # its run is over (the previous test, or now)
    deactivated = [dict(p, is_active=False) for p in generated["pipelines"] if p["pipeline_id"] == "gen_new"]
    config_file = tmp_path / "deactivate.yaml"
    config_file.write_text(yaml.safe_dump({"pipelines": deactivated}))
    cli(deployed_registry, "config", "import", str(config_file))
    refresh = deployment.trigger("pipeline_registry_dag_snapshot", f"test_refresh_{uuid.uuid4().hex[:6]}")
    assert deployment.wait_for_dag_run("pipeline_registry_dag_snapshot", refresh, timeout=300)["state"] == "success"
    rewritten = time.monotonic()
    snapshot = json.loads(generated["snapshot"].read_text())
    assert "gen_new" not in [p["pipeline_id"] for p in snapshot["pipelines"]]
    gone = wait_for_dag_state(deployment, "gen__gen_new", ("stale", "missing"), rewritten, DISAPPEAR_SECONDS)
    assert gone <= DISAPPEAR_SECONDS
    assert dag_state(deployment, "gen__gen_up") == "present"  # the others stay

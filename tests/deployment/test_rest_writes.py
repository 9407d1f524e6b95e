"""The tier's REST writes report the truth on a real api-server under its SQLite deadlock.

On SQLite, Airflow 3's audited REST writes commit their audit-log row on the api-server's event
loop, so writes sent at once freeze the api-server for its lock wait and some are answered 500
"Database error" (``deployment_harness.DatabaseBusy``). Every test of this tier triggers and marks
runs through :meth:`Deployment.write`; here many writes go at once, with answers read and with
answers lost (a client timeout far below the api-server's freezes).
"""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import deployment_harness
import pytest
from deployment_harness import Deployment

PAUSED_DAG = "deploy_paused_target"
AT_ONCE = 6


@pytest.mark.parametrize(
    "request_timeout", [deployment_harness.REQUEST_TIMEOUT, 1.0], ids=["answers-read", "answers-lost"]
)
def test_triggers_sent_at_once_each_report_the_one_dag_run_they_created(
    deployment: Deployment, request_timeout: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    batch = uuid.uuid4().hex[:6]
    run_ids = [f"test_at_once_{batch}_{i}" for i in range(AT_ONCE)]
    with monkeypatch.context() as patched, ThreadPoolExecutor(AT_ONCE) as pool:
        patched.setattr(deployment_harness, "REQUEST_TIMEOUT", request_timeout)
        deployment.wait_for_dag(PAUSED_DAG)
        returned = list(pool.map(lambda run_id: deployment.trigger(PAUSED_DAG, run_id), run_ids))

    assert returned == run_ids
    runs = deployment.api("GET", f"/dags/{PAUSED_DAG}/dagRuns?limit=100")["dag_runs"]
    created = sorted(run["dag_run_id"] for run in runs if run["dag_run_id"].startswith(f"test_at_once_{batch}_"))
    assert created == sorted(run_ids)  # one dag run per trigger: none lost, none doubled
    assert {run["state"] for run in runs} == {"queued"}  # paused: nothing ran

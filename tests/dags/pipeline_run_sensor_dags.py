"""DAGs for tests/airflow/test_sensor_modes.py: ``PipelineRunStateSensor`` in each mode under dag.test().

One DAG per mode (``pr_sensor_poke``, ``pr_sensor_reschedule``, ``pr_sensor_deferrable``). The sensor
waits for the run named in the dag run's conf (``run_id``, ``pipeline_id``) through the connection
``pr_sensor`` (the test points ``AIRFLOW_CONN_PR_SENSOR`` at DynamoDB Local with a per-test table
prefix). Tests that vary the sensor's settings rebuild the same DAG (same dag_id and task_id) with
:func:`build_sensor_dag`; dag.test() runs the in-memory tasks of the DAG it is called on.
"""

from __future__ import annotations

from typing import Any

import pendulum
from airflow.providers.common.compat.sdk import DAG

from airflow_provider_pipeline_registry.sensors.pipeline_registry import PipelineRunStateSensor

CONN_ID = "pr_sensor"
MODES = ("poke", "reschedule", "deferrable")
TASK_ID = "wait_for_run"
START = pendulum.datetime(2026, 1, 1, tz="UTC")

#: what each finished sensor task ended with, by dag run id: ("success", xcom) / ("failed", exc) / ("skipped", None)
OUTCOMES: dict[str, tuple[str, Any]] = {}


def _record(kind: str) -> Any:
    def callback(context: Any) -> None:
        run_id = context["dag_run"].run_id
        state = getattr(context["ti"], "state", None)
        if kind == "success" and str(getattr(state, "value", state)) == "skipped":
            return  # Airflow 2.11 calls on_success_callback after on_skipped_callback
        if kind == "success":
            OUTCOMES[run_id] = (kind, context["ti"].xcom_pull(task_ids=TASK_ID))
        else:
            OUTCOMES[run_id] = (kind, context.get("exception"))

    return callback


def build_sensor_dag(mode: str, **sensor_kwargs: Any) -> DAG:
    """The DAG ``pr_sensor_<mode>`` with one sensor; ``sensor_kwargs`` override its defaults."""
    options: dict[str, Any] = {
        "pipeline_id": "{{ dag_run.conf['pipeline_id'] }}",
        "run_id": "{{ dag_run.conf['run_id'] }}",
        "aws_conn_id": CONN_ID,
        "poke_interval": 0.2,
        "timeout": 60,
        "mode": "reschedule" if mode == "reschedule" else "poke",
        "deferrable": mode == "deferrable",
        "on_success_callback": _record("success"),
        "on_failure_callback": _record("failed"),
        "on_skipped_callback": _record("skipped"),
    }
    options.update(sensor_kwargs)
    with DAG(f"pr_sensor_{mode}", schedule=None, start_date=START, catchup=False, tags=["test"]) as dag:
        PipelineRunStateSensor(task_id=TASK_ID, **options)
    return dag


for _mode in MODES:
    globals()[f"dag_{_mode}"] = build_sensor_dag(_mode)

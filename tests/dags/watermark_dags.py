"""DAGs for tests/airflow/test_watermarks_dag.py: an incremental pipeline without the run logger.

``load`` exposes the source's committed watermark (XCom ``watermarks``, ``run_logger_env``, and
``watermark_template`` in the job's arguments); the job stand-in says how far it read (from the
dag run's conf ``high``, or fails when conf ``fail`` is set); ``end`` commits that high bound with
the SUCCESS end. Connection ``pr_watermarks`` (the test points it at DynamoDB Local).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pendulum
from airflow.providers.common.compat.sdk import DAG, BaseOperator

from airflow_provider_pipeline_registry.operators.pipeline_registry import (
    EndPipelineRunOperator,
    LoadPipelineConfigOperator,
    StartPipelineRunOperator,
)
from airflow_provider_pipeline_registry.registry.run_env import read_watermarks
from airflow_provider_pipeline_registry.run_context import watermark_template

CONN_ID = "pr_watermarks"
PIPELINE_ID = "clicks"
SOURCE = "clicks.events"


class JobStandIn(BaseOperator):
    """Renders a job's arguments and environment like SparkSubmitOperator; returns what it saw and
    the high bound it "read" up to (or fails, as a job would)."""

    template_fields: Sequence[str] = ("application_args", "env_vars", "high", "fail")

    def __init__(self, *, application_args: Any, env_vars: Any, high: Any, fail: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.application_args = application_args
        self.env_vars = env_vars
        self.high = high
        self.fail = fail

    def execute(self, context: Any) -> dict[str, Any]:
        if self.fail:
            raise RuntimeError("the job failed after reading")
        return {
            "application_args": self.application_args,
            "env_watermarks": read_watermarks(self.env_vars),
            "high": self.high,
        }


registry = {"pipeline_id": PIPELINE_ID, "aws_conn_id": CONN_ID}

with DAG(
    dag_id="pr_wm_incremental",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    render_template_as_native_obj=True,
) as incremental_dag:
    load = LoadPipelineConfigOperator(task_id="load", **registry)
    start = StartPipelineRunOperator(task_id="start", **registry)
    job = JobStandIn(
        task_id="job",
        application_args=[f"--since={watermark_template(SOURCE, load_task_id='load')}"],
        env_vars=load.output["run_logger_env"],
        high="{{ dag_run.conf.get('high') }}",
        fail="{{ dag_run.conf.get('fail', False) }}",
    )
    end = EndPipelineRunOperator(
        task_id="end",
        watermarks={SOURCE: "{{ (ti.xcom_pull(task_ids='job') or {}).get('high') }}"},
        fail_on_pipeline_failure=False,
        **registry,
    )
    load >> start >> job >> end

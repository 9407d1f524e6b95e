"""DAGs for tests/airflow/test_pipeline_task_group.py: ``PipelineRunTaskGroup`` under dag.test().

``pr_task_group``: the default group (SparkSubmitOperator on ``pr_task_group_spark``, ``local[1]``),
with DAG params the pipeline's templated arguments use. ``pr_task_group_custom``: a custom Spark
task factory (a stand-in operator that keeps what it was given). Registry connection:
``pr_task_group`` (the test points it at DynamoDB Local).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pendulum
from airflow.providers.common.compat.sdk import DAG, BaseOperator

from airflow_provider_pipeline_registry.dags import PipelineRunTaskGroup, SparkTaskSpec

CONN_ID = "pr_task_group"
SPARK_CONN_ID = "pr_task_group_spark"
PIPELINE_ID = "tg_sales"
CUSTOM_PIPELINE_ID = "tg_custom"
START = pendulum.datetime(2026, 1, 1, tz="UTC")

with DAG(
    "pr_task_group",
    schedule="@daily",
    start_date=START,
    catchup=False,
    params={"region": "emea"},
    default_args={"retries": 0},
) as task_group_dag:
    PipelineRunTaskGroup(PIPELINE_ID, aws_conn_id=CONN_ID, spark_conn_id=SPARK_CONN_ID)


class LauncherStandIn(BaseOperator):
    """Another launcher: it has conf/application_args/env_vars, and returns them as it would launch them."""

    template_fields: Sequence[str] = ("application",)

    def __init__(self, *, application: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.application = application
        self.conf: dict[str, str] = {}
        self.application_args: list[str] = []
        self.env_vars: dict[str, str] = {}

    def execute(self, context: Any) -> dict[str, Any]:
        return {
            "application": self.application,
            "conf": self.conf,
            "application_args": self.application_args,
            "env": sorted(self.env_vars),
        }


def launcher(spec: SparkTaskSpec) -> BaseOperator:
    return LauncherStandIn(
        task_id=spec.task_id,
        application=spec.application_template,
        pre_execute=spec.pre_execute,
        on_failure_callback=spec.on_failure_callback,
    )


with DAG("pr_task_group_custom", schedule=None, start_date=START, catchup=False) as custom_dag:
    PipelineRunTaskGroup(CUSTOM_PIPELINE_ID, group_id="custom", aws_conn_id=CONN_ID, spark_task=launcher)

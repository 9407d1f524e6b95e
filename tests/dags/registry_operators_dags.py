"""DAGs for tests/airflow/test_operators_dag.py (the registry operators and callbacks under dag.test()).

All use the connection ``pr_operators`` (the test points ``AIRFLOW_CONN_PR_OPERATORS`` at DynamoDB
Local with a per-test table prefix). Keep this file light: every dag.test() parses the dags folder.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pendulum
from airflow.providers.common.compat.sdk import DAG, AirflowSkipException, BaseOperator, TaskGroup

from airflow_provider_pipeline_registry.callbacks import record_run_failure, record_run_success
from airflow_provider_pipeline_registry.operators.pipeline_registry import (
    EndPipelineRunOperator,
    LoadPipelineConfigOperator,
    StartPipelineRunOperator,
)
from airflow_provider_pipeline_registry.run_context import spark_env_template

CONN_ID = "pr_operators"
PIPELINE_ID = "orders_daily"
INACTIVE_PIPELINE_ID = "orders_paused"
MISSING_PIPELINE_ID = "orders_nowhere"
START = pendulum.datetime(2026, 1, 1, tz="UTC")
XCOM = "{{{{ ti.xcom_pull(task_ids='load', key='{key}') }}}}"


class SparkSubmitStandIn(BaseOperator):
    """Renders the same templated fields a SparkSubmitOperator has and returns them (no Spark here)."""

    template_fields: Sequence[str] = ("application", "conf", "application_args", "env_vars", "spark_env")

    def __init__(
        self, *, application: Any, conf: Any, application_args: Any, env_vars: Any, spark_env: Any = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.application = application
        self.conf = conf
        self.application_args = application_args
        self.env_vars = env_vars
        self.spark_env = spark_env  # rendered like env_vars, from spark_env_template()

    def execute(self, context: Any) -> dict[str, Any]:
        return {
            "application": self.application,
            "conf": self.conf,
            "application_args": self.application_args,
            "env_vars": self.env_vars,
            "spark_env": self.spark_env,
            "types": [type(v).__name__ for v in (self.application, self.conf, self.application_args, self.env_vars)],
        }


class Boom(BaseOperator):
    """Fails with a recognisable exception."""

    def execute(self, context: Any) -> None:
        raise ValueError(f"boom in {self.task_id}")


class Skipper(BaseOperator):
    """Skips itself (a pipeline step with nothing to do)."""

    def execute(self, context: Any) -> None:
        raise AirflowSkipException("nothing to do today")


class FlakyStart(StartPipelineRunOperator):
    """Records the start, then fails in try 1 (so try 2 restarts the same run id)."""

    def execute(self, context: Any) -> str:
        run_id = super().execute(context)
        if context["ti"].try_number == 1:
            raise RuntimeError("transient failure after the start was recorded")
        return run_id


registry = {"pipeline_id": PIPELINE_ID, "aws_conn_id": CONN_ID}

# -- 1. the happy path: load -> start -> spark stand-in -> end ------------------------------------
with DAG(
    dag_id="pr_ops_success",
    schedule=None,
    start_date=START,
    catchup=False,
    render_template_as_native_obj=True,
    on_success_callback=record_run_success(**registry),
) as success_dag:
    load = LoadPipelineConfigOperator(task_id="load", **registry)
    start = StartPipelineRunOperator(task_id="start", **registry)
    spark = SparkSubmitStandIn(
        task_id="spark",
        application=XCOM.format(key="application"),
        conf=XCOM.format(key="spark_conf"),
        application_args=XCOM.format(key="application_args"),
        env_vars=load.output["run_logger_env"],
        spark_env=spark_env_template(load_task_id="load", start_task_id="start"),
    )
    end = EndPipelineRunOperator(task_id="end", **registry)
    load >> start >> spark >> end

# -- 2. failures: one run ended by a task callback, one by the end operator, one by the DAG callback
with DAG(
    dag_id="pr_ops_failure",
    schedule=None,
    start_date=START,
    catchup=False,
    on_failure_callback=record_run_failure(**registry),
) as failure_dag:
    dag_level_start = StartPipelineRunOperator(task_id="dag_level_start", **registry)
    with TaskGroup("by_callback"):
        cb_start = StartPipelineRunOperator(task_id="start", **registry)
        cb_boom = Boom(task_id="boom", on_failure_callback=record_run_failure(**registry))
        cb_end = EndPipelineRunOperator(task_id="end", **registry)
        cb_start >> cb_boom >> cb_end
    with TaskGroup("by_end"):
        eo_start = StartPipelineRunOperator(task_id="start", **registry)
        eo_boom = Boom(task_id="boom")
        eo_end = EndPipelineRunOperator(task_id="end", fail_on_pipeline_failure=False, **registry)
        eo_start >> eo_boom >> eo_end

# -- 3. a retried start: try 1 records RUNNING then fails; try 2 restarts the same run id ---------
with DAG(dag_id="pr_ops_retry", schedule=None, start_date=START, catchup=False) as retry_dag:
    flaky = FlakyStart(
        task_id="start",
        retries=1,
        retry_delay=timedelta(seconds=0),
        on_retry_callback=record_run_failure(**registry),
        **registry,
    )
    flaky >> EndPipelineRunOperator(task_id="end", **registry)

# -- 4. a missing and an inactive pipeline ---------------------------------------------------------
with DAG(dag_id="pr_ops_missing_inactive", schedule=None, start_date=START, catchup=False) as missing_inactive_dag:
    LoadPipelineConfigOperator(task_id="load_missing", pipeline_id=MISSING_PIPELINE_ID, aws_conn_id=CONN_ID)
    inactive = {"pipeline_id": INACTIVE_PIPELINE_ID, "aws_conn_id": CONN_ID}
    (
        LoadPipelineConfigOperator(task_id="load_inactive", **inactive)
        >> StartPipelineRunOperator(task_id="start_inactive", **inactive)
        >> EndPipelineRunOperator(task_id="end_inactive", **inactive)
    )

# -- 5. a skipped task with a success callback (Airflow 2.11 calls it after the skip callback) -----
with DAG(dag_id="pr_ops_skipped", schedule=None, start_date=START, catchup=False) as skipped_dag:
    StartPipelineRunOperator(task_id="start", **registry) >> Skipper(
        task_id="skipper", on_success_callback=record_run_success(**registry)
    )

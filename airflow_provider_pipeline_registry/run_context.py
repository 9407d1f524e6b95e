"""Moved to :mod:`airflow_provider_pipeline_registry.utils.run_context`; this module keeps the old import path."""

from .utils.run_context import (
    FAILED_STATES,
    IGNORED_STATES,
    OK_STATES,
    airflow_identity,
    dag_id_of,
    dag_run_id_of,
    derive_context_run_id,
    is_dag_level,
    source_watermarks,
    spark_env_template,
    spark_task_env,
    state_name,
    task_group_id_of,
    watched_task_states,
    watermark_template,
)

__all__ = [
    "FAILED_STATES",
    "IGNORED_STATES",
    "OK_STATES",
    "airflow_identity",
    "dag_id_of",
    "dag_run_id_of",
    "derive_context_run_id",
    "is_dag_level",
    "source_watermarks",
    "spark_env_template",
    "spark_task_env",
    "state_name",
    "task_group_id_of",
    "watched_task_states",
    "watermark_template",
]

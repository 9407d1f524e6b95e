"""The Airflow identity of a pipeline run, read from a task (or DAG callback) context.

Shared by the operators and the callbacks so that they all compute the same run id. Imports
neither boto3 nor Airflow.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from ..registry.run_env import ATTEMPT_ID_ENV, TASK_ID_ENV, TRY_NUMBER_ENV, derive_run_id
from ..xcom_keys import (
    DEFAULT_LOAD_TASK_ID,
    DEFAULT_START_TASK_ID,
    XCOM_ATTEMPT_ID,
    XCOM_RUN_LOGGER_ENV,
    XCOM_WATERMARKS,
)

#: task states that count as "this task did its job" when deciding a run's status
OK_STATES = frozenset({"success", "skipped"})
#: task states that make the run FAILED
FAILED_STATES = frozenset({"failed", "upstream_failed"})
#: task states that are ignored (a task removed from the DAG since the run was created)
IGNORED_STATES = frozenset({"removed"})


def state_name(state: Any) -> str | None:
    """A task state (enum or string) as its plain string value."""
    if state is None:
        return None
    return str(getattr(state, "value", state))


def task_group_id_of(task: Any) -> str | None:
    """The id of the task group ``task`` sits in (None for the DAG's root group)."""
    group = getattr(task, "task_group", None)
    return getattr(group, "group_id", None) if group is not None else None


def is_dag_level(context: Mapping[str, Any]) -> bool:
    """True for a DAG-level callback context (Airflow adds ``reason`` there, never for tasks)."""
    return "reason" in context


def dag_id_of(context: Mapping[str, Any]) -> str:
    """The DAG id of ``context`` (task or DAG callback context)."""
    dag = context.get("dag")
    if dag is not None:
        return str(dag.dag_id)
    ti = context.get("ti") or context.get("task_instance")
    if ti is not None:
        return str(ti.dag_id)
    return str(context["dag_run"].dag_id)


def dag_run_id_of(context: Mapping[str, Any]) -> str:
    """The Airflow dag run id (``manual__2026-...``) of ``context``."""
    run_id = context.get("run_id")
    if run_id:
        return str(run_id)
    return str(context["dag_run"].run_id)


def derive_context_run_id(context: Mapping[str, Any], *, task_group_id: str | None = None) -> str:
    """The pipeline run id ``derive_run_id(dag_id, dag_run_id, task_group_id)`` for ``context``."""
    return derive_run_id(dag_id_of(context), dag_run_id_of(context), task_group_id)


def airflow_identity(context: Mapping[str, Any]) -> dict[str, Any]:
    """dag_id, dag_run_id, task_id, try_number, map_index and logical_date of a task context."""
    ti = context["ti"]
    map_index = getattr(ti, "map_index", None)
    logical_date = context.get("logical_date")
    return {
        "dag_id": str(ti.dag_id),
        "dag_run_id": dag_run_id_of(context),
        "task_id": str(ti.task_id),
        "try_number": int(ti.try_number or 1),
        "map_index": int(map_index) if map_index is not None else None,
        "logical_date": logical_date if isinstance(logical_date, datetime) else None,
    }


def watched_task_states(context: Mapping[str, Any], task_ids: Collection[str]) -> dict[str, str | None]:
    """States of ``task_ids`` in the current dag run: ``{task_id or task_id_<map index>: state}``.

    Airflow 3 asks the API server (``RuntimeTaskInstance.get_task_states``); Airflow 2 reads the
    dag run's task instances.
    """
    ti = context["ti"]
    dag_run_id = dag_run_id_of(context)
    wanted = set(task_ids)
    getter = getattr(ti, "get_task_states", None)
    if getter is not None:
        result = getter(dag_id=ti.dag_id, task_ids=sorted(wanted), run_ids=[dag_run_id])
        return {key: state_name(value) for key, value in (result.get(dag_run_id) or {}).items()}
    return _states_from_dag_run(context["dag_run"], wanted)


def _states_from_dag_run(dag_run: Any, wanted: Collection[str]) -> dict[str, str | None]:
    """Airflow 2: the states from the dag run's task instances."""
    return {
        (ti.task_id if ti.map_index < 0 else f"{ti.task_id}_{ti.map_index}"): state_name(ti.state)
        for ti in dag_run.get_task_instances()
        if ti.task_id in wanted
    }


def spark_task_env(
    context: Mapping[str, Any] | None = None,
    *,
    start_task_id: str | None = DEFAULT_START_TASK_ID,
) -> dict[str, str]:
    """The Spark task's OWN identity for its driver's ``PipelineRunLogger.from_env()``.

    Merge it after the Load task's XCom ``run_logger_env``: the try number and task id must be
    the Spark task's, which no other task can know, and in cluster deploy mode (YARN,
    Kubernetes) no ``AIRFLOW_CTX_*`` variable reaches the driver. Without ``context`` it returns
    Jinja templates that the Spark task renders itself (``SparkSubmitOperator.env_vars`` is
    templated), to merge into a dict of your own (or use :func:`spark_env_template`, which also
    carries ``run_logger_env``)::

        SparkSubmitOperator(..., env_vars={**my_static_env, **spark_task_env()})

    With a task ``context`` (``@task.pyspark``, ``@task``) it returns the values::

        PipelineRunLogger.from_env({**run_logger_env, **spark_task_env(get_current_context())}) The attempt id
    comes from ``start_task_id``'s XCom ``attempt_id`` (give the full id inside a task group;
    ``None`` to leave it out).
    """
    if context is None:
        env = {TRY_NUMBER_ENV: "{{ ti.try_number }}", TASK_ID_ENV: "{{ ti.task_id }}"}
        if start_task_id:
            env[ATTEMPT_ID_ENV] = f"{{{{ ti.xcom_pull(task_ids={start_task_id!r}, key={XCOM_ATTEMPT_ID!r}) }}}}"
        return env
    ti = context["ti"]
    env = {TRY_NUMBER_ENV: str(int(ti.try_number or 1)), TASK_ID_ENV: str(ti.task_id)}
    if start_task_id:
        attempt = ti.xcom_pull(task_ids=start_task_id, key=XCOM_ATTEMPT_ID)
        if attempt:
            env[ATTEMPT_ID_ENV] = str(attempt)
    return env


def spark_env_template(
    *, load_task_id: str = DEFAULT_LOAD_TASK_ID, start_task_id: str | None = DEFAULT_START_TASK_ID
) -> str:
    """One Jinja expression for a Spark task's ``env_vars``: the Load task's XCom ``run_logger_env``
    plus the Spark task's own identity (what :func:`spark_task_env` carries).

    It renders to a dict under ``render_template_as_native_obj=True`` (the DAG's setting)::

        SparkSubmitOperator(..., env_vars=spark_env_template(load_task_id="sales.load_config"))  # in a group
    """
    attempt = (
        f", {ATTEMPT_ID_ENV}=(ti.xcom_pull(task_ids={start_task_id!r}, key={XCOM_ATTEMPT_ID!r}) or '')"
        if start_task_id
        else ""
    )
    return (
        f"{{{{ dict(ti.xcom_pull(task_ids={load_task_id!r}, key={XCOM_RUN_LOGGER_ENV!r}), "
        f"{TRY_NUMBER_ENV}=(ti.try_number | string), {TASK_ID_ENV}=ti.task_id{attempt}) }}}}"
    )


def watermark_template(table_id: str, *, load_task_id: str = DEFAULT_LOAD_TASK_ID) -> str:
    """A Jinja expression rendering to ``table_id``'s committed watermark as the Load task read it
    (its XCom ``watermarks``), or to an empty string before the table's first committed run.

    For a job's arguments, keep it inside a longer string (under
    ``render_template_as_native_obj=True`` a lone ``"42"`` would render to the integer 42)::

        SparkSubmitOperator(..., application_args=[f"--since={watermark_template('sales.raw')}"])
    """
    return (
        f"{{{{ (ti.xcom_pull(task_ids={load_task_id!r}, key={XCOM_WATERMARKS!r}) or {{}}).get({table_id!r}) or '' }}}}"
    )


def source_watermarks(registry: Any, pipeline_id: str, run_id: str, tables: Sequence[Any]) -> dict[str, str | None]:
    """``{table_id: low bound}`` of the source tables among ``tables`` for run ``run_id``: what the
    run read when it started if it did and has not succeeded (a retry or clear reads the same
    values), else each table's committed watermark (one index query and one batch read)."""
    sources = [t.table_id for t in tables if str(getattr(t.role, "value", t.role)) == "source"]
    if not sources:
        return {}
    run = registry.runs.find_entity(run_id, pipeline_id, consistent=True)
    read = (run.watermarks or {}) if run is not None and str(run.status.value) != "SUCCESS" else {}
    committed = registry.tables.pipeline_watermarks(pipeline_id) if any(t not in read for t in sources) else {}
    found: dict[str, str | None] = {}
    for table_id in sources:
        if table_id in read:
            found[table_id] = read[table_id].get("from")
        elif table_id in committed:
            found[table_id] = committed[table_id].value
        else:  # not in the pipeline's index yet (eventually consistent): read it directly
            found[table_id] = registry.tables.watermark(table_id).value
    return found

"""``PipelineRunTaskGroup``: load -> start -> Spark -> end for one pipeline, in one call.

::

    with DAG("sales", schedule="@daily", start_date=...):
        PipelineRunTaskGroup("sales_daily", spark_conn_id="spark_local")

builds, in a task group named after the pipeline (``sales_daily``):

* ``load_config`` (``LoadPipelineConfigOperator``): the config and its active tables, to XCom, masked;
* ``start_run`` (``StartPipelineRunOperator``): the run, RUNNING, with the Airflow identity and a
  new attempt;
* ``run_spark_job``: a ``SparkSubmitOperator`` whose application, conf and arguments are the
  registry's, whose driver gets the run logger's environment plus this task's own identity (try
  number, task id, the attempt), whose secrets are resolved in its own process and whose
  arguments are rendered with its Airflow context (``spark_task.PrepareSparkTask``), with
  ``PipelineRunFailureNotifier`` (what ``record_run_failure`` returns) as its failure callback;
* ``end_run`` (``EndPipelineRunOperator``, ``trigger_rule="all_done"``): SUCCESS or FAILED from
  the tasks before it, and the asset events of the pipeline's target tables on SUCCESS.

Everything can be changed: the Spark connection and deploy mode, any argument of each task
(``load_kwargs``, ``start_kwargs``, ``spark_kwargs``, ``end_kwargs``), the registry connection
and settings, and the Spark task itself (``spark_task=``: a factory given a :class:`SparkTaskSpec`,
for other launchers). The DAG needs no ``render_template_as_native_obj``. Airflow is imported
when the group is built; boto3 and pyspark are not imported at all.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..hooks.pipeline_registry import DEFAULT_CONN_ID
from ..xcom_keys import (
    DEFAULT_LOAD_TASK_ID,
    DEFAULT_START_TASK_ID,
    XCOM_APPLICATION,
    XCOM_APPLICATION_ARGS,
    XCOM_SPARK_CONF,
)
from .spark_task import PrepareSparkTask

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator, TaskGroup

SPARK_TASK_ID = "run_spark_job"
END_TASK_ID = "end_run"
DEFAULT_SPARK_CONN_ID = "spark_default"


def group_id_for(pipeline_id: str) -> str:
    """A task group id for ``pipeline_id`` (group ids allow letters, digits, ``_`` and ``-``)."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", pipeline_id)


def _xcom(task_id: str, key: str) -> str:
    return f"{{{{ ti.xcom_pull(task_ids={task_id!r}, key={key!r}) }}}}"


@dataclass
class SparkTaskSpec:
    """What a Spark task factory (``PipelineRunTaskGroup(spark_task=...)``) is given.

    ``pre_execute`` fills the task's ``conf``/``application_args``/``env_vars`` attributes when it
    has them (from XCom, secrets resolved, arguments rendered, the rendered arguments recorded on
    the run); an operator holding them under other names can use the ``*_template`` strings
    (Jinja pulling the load task's XCom; they render to a dict or list only under
    ``render_template_as_native_obj=True``) and ``env`` (``PrepareSparkTask`` with ``fill=False``
    still resolves, renders and records).
    """

    task_id: str
    pipeline_id: str
    load_task_id: str
    start_task_id: str
    application_template: str
    conf_template: str
    args_template: str
    spark_conn_id: str
    deploy_mode: str | None
    name: str
    pre_execute: PrepareSparkTask
    on_failure_callback: Any
    #: ``spark_kwargs`` as given to the group (for the factory to pass on)
    kwargs: dict[str, Any] = field(default_factory=dict)


def spark_submit_task(spec: SparkTaskSpec) -> BaseOperator:
    """The default Spark task: a ``SparkSubmitOperator`` on ``spec.spark_conn_id``."""
    from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator

    kwargs = dict(spec.kwargs)
    kwargs.setdefault("name", spec.name)
    if spec.deploy_mode is not None:
        kwargs.setdefault("deploy_mode", spec.deploy_mode)
    return SparkSubmitOperator(
        task_id=spec.task_id,
        conn_id=spec.spark_conn_id,
        application=spec.application_template,
        pre_execute=spec.pre_execute,
        on_failure_callback=spec.on_failure_callback,
        **kwargs,
    )


def PipelineRunTaskGroup(  # a task group, called like one
    pipeline_id: str,
    *,
    group_id: str | None = None,
    aws_conn_id: str | None = DEFAULT_CONN_ID,
    spark_conn_id: str = DEFAULT_SPARK_CONN_ID,
    deploy_mode: str | None = None,
    spark_task: Callable[[SparkTaskSpec], BaseOperator] | None = None,
    spark_kwargs: Mapping[str, Any] | None = None,
    load_kwargs: Mapping[str, Any] | None = None,
    start_kwargs: Mapping[str, Any] | None = None,
    end_kwargs: Mapping[str, Any] | None = None,
    registry_options: Mapping[str, Any] | None = None,
    render_arguments: bool = True,
    record_arguments: bool = True,
    record_failures: bool = True,
    **group_kwargs: Any,
) -> TaskGroup:
    """Build the four tasks of a pipeline run in a task group, and return the group.

    :param pipeline_id: the pipeline.
    :param group_id: the task group's id (default: the pipeline id, other characters than
        letters, digits, ``_`` and ``-`` replaced by ``_``); it is part of the run id.
    :param aws_conn_id: the registry's ``aws`` connection.
    :param spark_conn_id: the Spark connection of the default Spark task.
    :param deploy_mode: ``client`` or ``cluster`` (default: the connection's).
    :param spark_task: a factory ``(SparkTaskSpec) -> operator`` replacing ``SparkSubmitOperator``.
    :param spark_kwargs: more arguments of the Spark task (``env_vars`` are added to the
        driver's environment; ``conf`` entries override the registry's, ``application_args``
        are appended to them).
    :param load_kwargs: more arguments of ``LoadPipelineConfigOperator``.
    :param start_kwargs: more arguments of ``StartPipelineRunOperator``.
    :param end_kwargs: more arguments of ``EndPipelineRunOperator``.
    :param registry_options: the other connection arguments (``region_name``, ``table_prefix``,
        ``user_timezone``, ``verify``, ``botocore_config``) and registry settings by their hook
        argument names (``max_attempts``...): given to every task, callback and hook of the group.
    :param render_arguments: render ``spark_args``, ``spark_conf`` values and ``parameters``.
    :param record_arguments: record the rendered arguments on the run (``arguments``).
    :param record_failures: ``record_run_failure`` as the Spark task's failure callback.
    :param group_kwargs: more arguments of the ``TaskGroup`` (``tooltip``, ``dag``, ...).
    """
    from airflow.providers.common.compat.sdk import TaskGroup

    from ..notifications import PipelineRunFailureNotifier
    from ..operators.pipeline_registry import (
        EndPipelineRunOperator,
        LoadPipelineConfigOperator,
        StartPipelineRunOperator,
    )

    options = dict(registry_options or {})
    operator_options = options
    gid = group_id or group_id_for(pipeline_id)
    group_kwargs.setdefault("tooltip", f"pipeline-registry run of {pipeline_id}")
    group = TaskGroup(group_id=gid, **group_kwargs)
    load_id, start_id = f"{gid}.{DEFAULT_LOAD_TASK_ID}", f"{gid}.{DEFAULT_START_TASK_ID}"
    with group:
        load = LoadPipelineConfigOperator(
            task_id=DEFAULT_LOAD_TASK_ID,
            pipeline_id=pipeline_id,
            aws_conn_id=aws_conn_id,
            **{**operator_options, **dict(load_kwargs or {})},
        )
        start = StartPipelineRunOperator(
            task_id=DEFAULT_START_TASK_ID,
            pipeline_id=pipeline_id,
            aws_conn_id=aws_conn_id,
            **{**operator_options, **dict(start_kwargs or {})},
        )
        spec = SparkTaskSpec(
            task_id=SPARK_TASK_ID,
            pipeline_id=pipeline_id,
            load_task_id=load_id,
            start_task_id=start_id,
            application_template=_xcom(load_id, XCOM_APPLICATION),
            conf_template=_xcom(load_id, XCOM_SPARK_CONF),
            args_template=_xcom(load_id, XCOM_APPLICATION_ARGS),
            spark_conn_id=spark_conn_id,
            deploy_mode=deploy_mode,
            name=pipeline_id,
            pre_execute=PrepareSparkTask(
                pipeline_id=pipeline_id,
                load_task_id=load_id,
                start_task_id=start_id,
                render=render_arguments,
                record=record_arguments,
                aws_conn_id=aws_conn_id,
                **options,
            ),
            on_failure_callback=(
                PipelineRunFailureNotifier(
                    pipeline_id=pipeline_id, aws_conn_id=aws_conn_id, task_group_id=gid, **options
                )
                if record_failures
                else None
            ),
            kwargs=dict(spark_kwargs or {}),
        )
        spark = (spark_task or spark_submit_task)(spec)
        end = EndPipelineRunOperator(
            task_id=END_TASK_ID,
            pipeline_id=pipeline_id,
            aws_conn_id=aws_conn_id,
            **{**operator_options, **dict(end_kwargs or {})},
        )
        load >> start >> spark >> end
    return group


__all__ = ["PipelineRunTaskGroup", "SparkTaskSpec", "group_id_for", "spark_submit_task"]

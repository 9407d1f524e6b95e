"""Operators that load a pipeline's config before a Spark task and record its run around it.

``LoadPipelineConfigOperator >> StartPipelineRunOperator >> <Spark task> >> EndPipelineRunOperator``

* Load reads the pipeline config and its active table configs and pushes them (plus what a
  ``SparkSubmitOperator`` needs) to XCom as plain JSON.
* Start records the run as RUNNING with the Airflow identity; the run id is derived from the
  dag id, dag run id and task group, so it is stable across retries and computable elsewhere.
* End records SUCCESS or FAILED from an argument or from the states of the tasks it watches.

Importing this module imports neither boto3 nor pyspark: the hook is built on first use.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from enum import Enum
from functools import cached_property
from typing import TYPE_CHECKING, Any

from ..assets import emit_end_asset_events, end_operator_outlets
from ..compat import AirflowException, AirflowSkipException, BaseOperator
from ..openlineage import PipelineRegistryLineageMixin
from ..registry.errors import ConflictError, ItemNotFoundError, RegistryError, ValidationError
from ..registry.run_env import run_logger_env
from ..registry.timezones import format_for_display, format_utc, utc_now
from ..run_context import (
    FAILED_STATES,
    IGNORED_STATES,
    OK_STATES,
    airflow_identity,
    derive_context_run_id,
    task_group_id_of,
    watched_task_states,
)

if TYPE_CHECKING:
    from datetime import tzinfo

    from ..compat import Context
    from ..hooks.pipeline_registry import PipelineRegistryHook

#: the statuses an end can record (RunStatus values; the run_logs package imports boto3)
END_STATUSES = ("SUCCESS", "FAILED", "CANCELLED")

#: XCom keys pushed by LoadPipelineConfigOperator (besides the return value)
XCOM_SPARK_CONF = "spark_conf"
XCOM_APPLICATION = "application"
XCOM_APPLICATION_ARGS = "application_args"
XCOM_RUN_LOGGER_ENV = "run_logger_env"
XCOM_RUN_ID = "run_id"


def to_json_value(value: Any) -> Any:
    """``value`` as plain JSON: datetimes as UTC storage strings, enums as values, Decimals as numbers."""
    if isinstance(value, datetime):
        return format_utc(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, Mapping):
        return {str(k): to_json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_json_value(v) for v in value]
    return value


class PipelineRegistryBaseOperator(BaseOperator):
    """Base of the registry operators: connection arguments and the hook, built on first use.

    :param pipeline_id: the pipeline (templated).
    :param aws_conn_id: the ``aws`` connection whose extras carry the registry settings.
    :param region_name: overrides the connection's region.
    :param table_prefix: overrides the connection's table prefix (e.g. ``dev_``).
    :param user_timezone: IANA zone for the task log (default: connection extra ``user_timezone``,
        then ``DYNAMODB_USER_TIMEZONE``, then UTC). Storage is always UTC.
    """

    ui_color = "#f0e4ff"

    def __init__(
        self,
        *,
        pipeline_id: str,
        aws_conn_id: str | None = "aws_default",
        region_name: str | None = None,
        table_prefix: str | None = None,
        user_timezone: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.pipeline_id = pipeline_id
        self.aws_conn_id = aws_conn_id
        self.region_name = region_name
        self.table_prefix = table_prefix
        self.user_timezone = user_timezone

    @cached_property
    def hook(self) -> PipelineRegistryHook:
        """The registry hook (imports boto3 only now)."""
        from ..hooks.pipeline_registry import PipelineRegistryHook

        return PipelineRegistryHook(
            aws_conn_id=self.aws_conn_id,
            region_name=self.region_name,
            table_prefix=self.table_prefix,
            user_timezone=self.user_timezone,
        )

    @property
    def display_timezone(self) -> tzinfo:
        """The timezone log lines are shown in."""
        return self.hook.user_timezone

    def show(self, value: datetime | None) -> str:
        """``value`` in the user's timezone with UTC beside it, for the task log."""
        return format_for_display(value, self.display_timezone)

    def resolve_run_id(self, context: Context, explicit: str | None) -> str:
        """``explicit`` if given, else the run id derived from the dag run and this task's group."""
        if explicit:
            return explicit
        return derive_context_run_id(context, task_group_id=task_group_id_of(self))


class LoadPipelineConfigOperator(PipelineRegistryLineageMixin, PipelineRegistryBaseOperator):
    """Load a pipeline's config and its active table configs and push them to XCom as JSON.

    Return value: ``{"pipeline": {...}, "tables": [...], "run_id": ...}`` (datetimes as UTC ISO
    strings). Extra XCom keys for a ``SparkSubmitOperator``: ``spark_conf`` (dict),
    ``application`` (str), ``application_args`` (list), ``run_logger_env`` (dict of environment
    variables for ``PipelineRunLogger.from_env()``, never credentials) and ``run_id``.

    A missing pipeline fails the task; an inactive one skips it (or fails it when
    ``skip_if_inactive=False``).

    :param run_id: the pipeline run id handed to the Spark job (templated; default: derived
        like ``StartPipelineRunOperator`` does, from the dag run and this task's group).
    :param try_number: try number put in ``run_logger_env`` (templated). Default None: the run
        logger then uses the Spark task's own ``AIRFLOW_CTX_TRY_NUMBER``, which is right when
        the Spark task is retried on its own.
    :param heartbeat_seconds: heartbeat interval for the run logger, if not its default.
    :param skip_if_inactive: skip (True) or fail (False) when the pipeline is inactive.
    """

    template_fields: Sequence[str] = ("pipeline_id", "run_id", "try_number")

    def __init__(
        self,
        *,
        pipeline_id: str,
        run_id: str | None = None,
        try_number: int | str | None = None,
        heartbeat_seconds: float | None = None,
        skip_if_inactive: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(pipeline_id=pipeline_id, **kwargs)
        self.run_id = run_id
        self.try_number = try_number
        self.heartbeat_seconds = heartbeat_seconds
        self.skip_if_inactive = skip_if_inactive

    def execute(self, context: Context) -> dict[str, Any]:
        registry = self.hook.registry
        config = self.hook.registry_config
        pipeline = registry.pipelines.find_entity(self.pipeline_id, consistent=True)
        if pipeline is None:
            raise AirflowException(
                f"pipeline {self.pipeline_id!r} not found in table {config.table_name('pipeline_config')!r}: "
                "create it first (pipeline-registry CLI or PipelineConfigWriteApi), or check the "
                "connection's table_prefix/environment"
            )
        if not pipeline.is_active:
            message = (
                f"pipeline {self.pipeline_id!r} is inactive (version {pipeline.version}, "
                f"updated {self.show(pipeline.updated_at)})"
            )
            if self.skip_if_inactive:
                raise AirflowSkipException(f"{message}: skipping")
            raise AirflowException(f"{message} and skip_if_inactive=False")
        tables = list(registry.tables.iter_by_pipeline(self.pipeline_id, active_only=True))
        run_id = self.resolve_run_id(context, self.run_id)
        pipeline_json = to_json_value(pipeline.model_dump())
        tables_json = [to_json_value(t.model_dump(exclude={"display_timezone"})) for t in tables]
        spark_conf = dict(pipeline.spark_conf)
        application = pipeline.spark_application or ""
        application_args = list(pipeline.spark_args)
        env = run_logger_env(
            config,
            pipeline_id=self.pipeline_id,
            run_id=run_id,
            try_number=int(self.try_number) if self.try_number not in (None, "") else None,
            heartbeat_seconds=self.heartbeat_seconds,
        )
        ti = context["ti"]
        ti.xcom_push(key=XCOM_SPARK_CONF, value=spark_conf)
        ti.xcom_push(key=XCOM_APPLICATION, value=application)
        ti.xcom_push(key=XCOM_APPLICATION_ARGS, value=application_args)
        ti.xcom_push(key=XCOM_RUN_LOGGER_ENV, value=env)
        ti.xcom_push(key=XCOM_RUN_ID, value=run_id)

        self.log.info(
            "Loaded pipeline %r (version %d, owner %s, updated %s) with %d active table(s): %s",
            pipeline.pipeline_id,
            pipeline.version,
            pipeline.owner,
            self.show(pipeline.updated_at),
            len(tables),
            ", ".join(t.table_id for t in tables) or "-",
        )
        if not application:
            self.log.warning("Pipeline %r has no spark_application: XCom 'application' is empty", self.pipeline_id)
        self.log.info(
            "Run id %s; Spark application %s with %d conf entr(ies) and args %s",
            run_id,
            application or "-",
            len(spark_conf),
            json.dumps(application_args),
        )
        return {"pipeline": pipeline_json, "tables": tables_json, "run_id": run_id}


class StartPipelineRunOperator(PipelineRegistryLineageMixin, PipelineRegistryBaseOperator):
    """Record a pipeline run as RUNNING with the Airflow identity; return its run id.

    The run id defaults to ``derive_run_id(dag_id, dag_run_id, task_group_id)``: stable across
    retries and clears of the same dag run. A retry or clear (a higher try number) starts the same
    run again; re-running the same try is a no-op. Starting a run whose same try already ended is
    refused (the task fails).

    :param run_id: explicit run id (templated).
    """

    template_fields: Sequence[str] = ("pipeline_id", "run_id")

    def __init__(self, *, pipeline_id: str, run_id: str | None = None, **kwargs: Any) -> None:
        super().__init__(pipeline_id=pipeline_id, **kwargs)
        self.run_id = run_id

    def execute(self, context: Context) -> str:
        run_id = self.resolve_run_id(context, self.run_id)
        identity = airflow_identity(context)
        start_time = utc_now()
        try:
            run = self.hook.registry.runs_write.start(
                {"run_id": run_id, "pipeline_id": self.pipeline_id, "start_time": start_time, **identity}
            )
        except RegistryError as exc:
            raise AirflowException(f"could not start run {run_id!r} of pipeline {self.pipeline_id!r}: {exc}") from exc
        if run.start_time != start_time:
            self.log.info(
                "Run %s of pipeline %r is already RUNNING in try %d since %s: nothing to do",
                run_id,
                self.pipeline_id,
                run.try_number,
                self.show(run.start_time),
            )
        else:
            self.log.info(
                "Run %s of pipeline %r started %s (try %d, dag run %s)",
                run_id,
                self.pipeline_id,
                self.show(run.start_time),
                run.try_number,
                identity["dag_run_id"],
            )
        return run_id


class EndPipelineRunOperator(PipelineRegistryLineageMixin, PipelineRegistryBaseOperator):
    """Record the end of a pipeline run: SUCCESS or FAILED (or CANCELLED when given).

    The status comes from ``status`` or, by default, from the states of ``watched_task_ids``
    (default: every upstream task) in this dag run: FAILED when any of them failed or was
    upstream-failed (the failed task ids go into the run's error), SUCCESS otherwise. A skipped
    task counts as success (a branch not taken is not a failure); when every watched task was
    skipped, nothing ran, so this task skips too. Runs with ``trigger_rule="all_done"`` by default.

    Ending a run that already ended the same way (e.g. a failure callback got there first) is a
    no-op. With ``fail_on_pipeline_failure`` (default) the task fails when the run FAILED, so the
    dag run's state reflects the pipeline's.

    :param run_id: explicit run id (templated); default derived like the start operator's.
    :param status: ``SUCCESS``, ``FAILED`` or ``CANCELLED`` (templated); default: from task states.
    :param error_message: error recorded with an explicit FAILED/CANCELLED status (templated).
    :param watched_task_ids: task ids whose states decide the status (default: all upstream).
    :param fail_on_pipeline_failure: fail this task when the run ended FAILED.
    """

    template_fields: Sequence[str] = ("pipeline_id", "run_id", "status", "error_message")

    def __init__(
        self,
        *,
        pipeline_id: str,
        run_id: str | None = None,
        status: str | None = None,
        error_message: str | None = None,
        watched_task_ids: Sequence[str] | None = None,
        fail_on_pipeline_failure: bool = True,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("trigger_rule", "all_done")
        kwargs["outlets"] = end_operator_outlets(pipeline_id, kwargs.get("outlets"))  # asset events: assets.py
        super().__init__(pipeline_id=pipeline_id, **kwargs)
        if status is not None and "{{" not in status:
            _parse_status(status)
        self.run_id = run_id
        self.status = status
        self.error_message = error_message
        self.watched_task_ids = list(watched_task_ids) if watched_task_ids is not None else None
        self.fail_on_pipeline_failure = fail_on_pipeline_failure

    def _watched(self) -> list[str]:
        if self.watched_task_ids is not None:
            unknown = [t for t in self.watched_task_ids if not self.dag.has_task(t)]
            if unknown:
                raise ValidationError(
                    f"watched_task_ids: no such task(s) in DAG {self.dag_id!r}: {unknown}", field="watched_task_ids"
                )
            return list(self.watched_task_ids)
        watched = sorted(self.get_flat_relative_ids(upstream=True))
        if not watched:
            raise AirflowException(
                f"{self.task_id} has no upstream tasks to watch: set watched_task_ids or an explicit status"
            )
        return watched

    def _status_from_tasks(self, context: Context) -> tuple[str, str | None]:
        watched = self._watched()
        states = watched_task_states(context, watched)
        failed = sorted(k for k, s in states.items() if s == "failed")
        upstream_failed = sorted(k for k, s in states.items() if s == "upstream_failed")
        unfinished = sorted(
            f"{k} ({s})" for k, s in states.items() if s not in OK_STATES | FAILED_STATES | IGNORED_STATES
        )
        counted = {k: s for k, s in states.items() if s not in IGNORED_STATES}
        self.log.info("Watched task states: %s", json.dumps(states, sort_keys=True))
        if counted and all(s == "skipped" for s in counted.values()):
            raise AirflowSkipException(f"every watched task was skipped ({', '.join(sorted(counted))}): no run to end")
        if not (failed or upstream_failed or unfinished):
            return "SUCCESS", None
        parts = []
        if failed:
            parts.append(f"failed task(s): {', '.join(failed)}")
        if upstream_failed:
            parts.append(f"upstream failed: {', '.join(upstream_failed)}")
        if unfinished:
            parts.append(f"not finished: {', '.join(unfinished)}")
        return "FAILED", "; ".join(parts)

    def execute(self, context: Context) -> dict[str, str]:
        run_id = self.resolve_run_id(context, self.run_id)
        if self.status:
            status, error_type, error_message = _parse_status(self.status), None, self.error_message
        else:
            status, error_message = self._status_from_tasks(context)
            error_type = "TaskFailed" if error_message else None
        end_time = utc_now()
        try:
            run = self.hook.registry.runs_write.finish(
                {
                    "run_id": run_id,
                    "pipeline_id": self.pipeline_id,
                    "status": status,
                    "end_time": end_time,
                    "error_type": error_type if status != "SUCCESS" else None,
                    "error_message": error_message if status != "SUCCESS" else None,
                }
            )
        except ItemNotFoundError as exc:
            raise AirflowException(
                f"run {run_id!r} of pipeline {self.pipeline_id!r} was never started, so {status} cannot be "
                "recorded"
                + (f" ({error_message})" if error_message else "")
                + ": is a StartPipelineRunOperator upstream, in the same task group (or given the same run_id)?"
            ) from exc
        except ConflictError as exc:
            stored = str((exc.current or {}).get("status", "RUNNING"))
            self.log.warning(
                "Run %s of pipeline %r is %s; %s was not recorded over it: %s",
                run_id,
                self.pipeline_id,
                stored,
                status,
                exc.message,
            )
            self._fail_if_needed(run_id, status if status == "FAILED" else stored, error_message)
            return {"run_id": run_id, "status": stored}
        if run.end_time != end_time:
            self.log.info(
                "Run %s of pipeline %r had already ended %s at %s: nothing to do",
                run_id,
                self.pipeline_id,
                run.status.value,
                self.show(run.end_time),
            )
        else:
            self.log.info(
                "Run %s of pipeline %r ended %s at %s after %ss (started %s)%s",
                run_id,
                self.pipeline_id,
                run.status.value,
                self.show(run.end_time),
                run.duration_seconds,
                self.show(run.start_time),
                f": {error_message}" if error_message and run.status.value != "SUCCESS" else "",
            )
        self._fail_if_needed(run_id, run.status.value, run.error_message or error_message)
        emit_end_asset_events(self, context, run)  # SUCCESS only: one event per active target table
        return {"run_id": run_id, "status": run.status.value}

    def _fail_if_needed(self, run_id: str, status: str, error_message: str | None) -> None:
        if self.fail_on_pipeline_failure and status == "FAILED":
            raise AirflowException(
                f"pipeline {self.pipeline_id!r} run {run_id!r} FAILED"
                + (f": {error_message}" if error_message else "")
                + " (set fail_on_pipeline_failure=False to keep this task green)"
            )


def _parse_status(value: str) -> str:
    status = value.strip().upper()
    if status not in END_STATUSES:
        raise ValidationError(f"status must be SUCCESS, FAILED or CANCELLED, got {value!r}", field="status")
    return status

"""Operators that load a pipeline's config before a Spark task and record its run around it.

``LoadPipelineConfigOperator >> StartPipelineRunOperator >> <Spark task> >> EndPipelineRunOperator``

* Load reads the pipeline config and its active table configs and pushes them (plus what a
  ``SparkSubmitOperator`` needs) to XCom as plain JSON, secrets masked (``***``); the Spark task
  gets the real values with ``pre_execute=resolve_pipeline_secrets(...)`` (``callbacks.py``).
* Start records the run as RUNNING with the Airflow identity; the run id is derived from the
  dag id, dag run id and task group, so it is stable across retries and computable elsewhere.
* End records SUCCESS or FAILED from an argument or from the states of the tasks it watches.

Importing this module imports neither boto3 nor pyspark: the hook is built on first use.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..assets import emit_end_asset_events, end_operator_outlets
from ..compat import (
    AirflowException,
    AirflowSkipException,
    BaseOperator,
    mask_secret,
    register_sensitive_var_conn_names,
)
from ..hooks.mixins import PipelineRegistryHookMixin, pop_registry_settings, registry_template_fields
from ..hooks.pipeline_registry import DEFAULT_CONN_ID
from ..links import registry_links
from ..openlineage import PipelineRegistryLineageMixin
from ..registry.errors import ConflictError, ItemNotFoundError, RegistryError, RegistryValidationError
from ..registry.json_values import to_json_value
from ..registry.redaction import redact_args, redact_mapping, redact_text, secret_values
from ..registry.run_env import DEFAULT_LEASE_SECONDS, run_logger_env
from ..registry.run_logs.status import END_STATUSES  # the statuses an end can record (no boto3 import)
from ..registry.timezones import format_for_display, utc_now
from ..run_context import (
    FAILED_STATES,
    IGNORED_STATES,
    OK_STATES,
    airflow_identity,
    derive_context_run_id,
    task_group_id_of,
    watched_task_states,
)
from ..xcom_keys import (  # the XCom keys' home; re-exported here, where they were declared before
    XCOM_APPLICATION,
    XCOM_APPLICATION_ARGS,
    XCOM_ATTEMPT_ID,
    XCOM_RUN_ID,
    XCOM_RUN_LOGGER_ENV,
    XCOM_SPARK_CONF,
)

if TYPE_CHECKING:
    from datetime import tzinfo

    from ..compat import Context
    from ..registry.run_logs import PipelineRunLog


class PipelineRegistryBaseOperator(PipelineRegistryHookMixin, BaseOperator):
    """Base of the registry operators: connection arguments and the hook, built on first use.

    :param pipeline_id: the pipeline (templated).
    :param aws_conn_id: the ``aws`` connection whose extras carry the registry settings (templated).
    :param region_name: overrides the connection's region (templated).
    :param table_prefix: overrides the connection's table prefix, e.g. ``dev_`` (templated).
    :param user_timezone: IANA zone for the task log (default: connection extra ``user_timezone``,
        then ``DYNAMODB_USER_TIMEZONE``, then UTC). Storage is always UTC.
    :param verify: TLS verification for boto3 (bool or CA bundle path); None: the connection's.
    :param botocore_config: botocore ``Config`` options; None: the connection's.

    Any other registry setting (``environment``, ``run_logs_table``, ``max_attempts``... see
    :data:`~airflow_provider_pipeline_registry.registry.settings.SETTINGS`) is accepted by its
    hook argument name and overrides the connection's.
    """

    template_fields: Sequence[str] = registry_template_fields("pipeline_id")
    operator_extra_links = registry_links()

    ui_color = "#f0e4ff"

    def __init__(
        self,
        *,
        pipeline_id: str,
        aws_conn_id: str | None = DEFAULT_CONN_ID,
        region_name: str | None = None,
        table_prefix: str | None = None,
        user_timezone: str | None = None,
        verify: bool | str | None = None,
        botocore_config: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        registry_settings = pop_registry_settings(kwargs)
        super().__init__(**kwargs)
        # template fields: assigned as given, here (Airflow's operator rule); rendered before execute
        self.pipeline_id = pipeline_id
        self.aws_conn_id = aws_conn_id
        self.region_name = region_name
        self.table_prefix = table_prefix
        self.init_hook_settings(
            user_timezone=user_timezone,
            verify=verify,
            botocore_config=botocore_config,
            registry_settings=registry_settings,
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

    Secrets never reach XCom nor the task log: every value the registry's redaction hides
    (sensitive key names, Airflow's plus ``[core] sensitive_var_conn_names``; URL userinfo;
    ``password=`` pairs; the value after a sensitive flag) is pushed as ``***`` and handed to
    Airflow's ``mask_secret``. The Spark task puts the real values back in its own process with
    ``pre_execute=resolve_pipeline_secrets(pipeline_id=...)``.

    A missing pipeline fails the task; an inactive one skips it (or fails it when
    ``skip_if_inactive=False``).

    :param run_id: the pipeline run id handed to the Spark job (templated; default: derived
        like ``StartPipelineRunOperator`` does, from the dag run and this task's group).
    :param try_number: try number put in ``run_logger_env`` (templated). Default None: the Spark
        task should add its own identity with ``spark_task_env()`` (``run_context``), which is the
        only way it reaches a driver in cluster deploy mode and is right when the Spark task is
        retried on its own.
    :param heartbeat_seconds: heartbeat interval for the run logger, if not its default.
    :param skip_if_inactive: skip (True) or fail (False) when the pipeline is inactive.
    """

    template_fields: Sequence[str] = registry_template_fields("pipeline_id", "run_id", "try_number")

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
        register_sensitive_var_conn_names()
        for secret in secret_values(None, {"pipeline": pipeline_json, "tables": tables_json}):
            mask_secret(secret)  # Airflow's masker hides them wherever they turn up in this task's log
        pipeline_json = redact_mapping(pipeline_json)
        tables_json = [redact_mapping(t) for t in tables_json]
        spark_conf = redact_mapping(dict(pipeline.spark_conf))
        application = redact_text(pipeline.spark_application or "")
        application_args = redact_args(pipeline.spark_args)
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
    retries and clears of the same dag run. Each start opens an attempt (an opaque id, pushed to
    XCom as ``attempt_id``) that the job's run logger claims; a retry or clear of this task (a
    higher try number) opens a new attempt of the same run, the previous one going into the run's
    attempt history; re-running the same try is a no-op. Starting a run whose same try already
    ended is refused (the task fails).

    :param run_id: explicit run id (templated).
    """

    template_fields: Sequence[str] = registry_template_fields("pipeline_id", "run_id")

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
        context["ti"].xcom_push(key=XCOM_ATTEMPT_ID, value=run.attempt_id)
        if run.start_time != start_time:
            self.log.info(
                "Run %s of pipeline %r is already RUNNING in try %d since %s (attempt %s): nothing to do",
                run_id,
                self.pipeline_id,
                run.try_number,
                self.show(run.start_time),
                run.attempt_id,
            )
        else:
            self.log.info(
                "Run %s of pipeline %r started %s (try %d, dag run %s, attempt %s%s)",
                run_id,
                self.pipeline_id,
                self.show(run.start_time),
                run.try_number,
                identity["dag_run_id"],
                run.attempt_id,
                f"; {len(run.attempts)} earlier attempt(s)" if run.attempts else "",
            )
        return run_id


class EndPipelineRunOperator(PipelineRegistryLineageMixin, PipelineRegistryBaseOperator):
    """Record the end of a pipeline run: SUCCESS or FAILED (or CANCELLED when given).

    The status comes from ``status`` or, by default, from the states of ``watched_task_ids``
    (default: every upstream task) in this dag run: FAILED when any of them failed or was
    upstream-failed (the failed task ids go into the run's error), SUCCESS otherwise. A skipped
    task counts as success (a branch not taken is not a failure); when every watched task was
    skipped, nothing ran, so this task skips too. Runs with ``trigger_rule="all_done"`` by default.

    A driver's own end wins: when the run is RUNNING in an attempt a run logger claimed and its
    heartbeat is alive (e.g. the Spark task was marked failed and Airflow ran this task before
    the supervisor stopped the driver), this operator waits up to ``driver_end_timeout`` seconds
    for the driver to record its end (the driver records CANCELLED when it gets SIGTERM), and
    reports that. Only after the wait does it record its own verdict, fenced on the attempt it
    read, so it can never end a newer attempt. Ending a run that already ended the same way
    (e.g. a failure callback got there first) is a no-op.

    With ``fail_on_pipeline_failure`` (default) the task fails when the run ended FAILED, or
    CANCELLED (the message names the real status), so the dag run's state reflects the
    pipeline's; an explicit ``status="CANCELLED"`` given to this operator does not fail it.

    :param run_id: explicit run id (templated); default derived like the start operator's.
    :param status: ``SUCCESS``, ``FAILED`` or ``CANCELLED`` (templated); default: from task states.
    :param error_message: error recorded with an explicit FAILED/CANCELLED status (templated).
    :param watched_task_ids: task ids whose states decide the status (default: all upstream).
    :param fail_on_pipeline_failure: fail this task when the run ended FAILED or CANCELLED.
    :param driver_end_timeout: seconds to wait for a live driver's own end (0: do not wait).
    :param driver_poll_interval: seconds between two reads while waiting.
    :param lease_seconds: a claimed attempt whose heartbeat is older than this is not waited for.
    """

    template_fields: Sequence[str] = registry_template_fields("pipeline_id", "run_id", "status", "error_message")

    def __init__(
        self,
        *,
        pipeline_id: str,
        run_id: str | None = None,
        status: str | None = None,
        error_message: str | None = None,
        watched_task_ids: Sequence[str] | None = None,
        fail_on_pipeline_failure: bool = True,
        driver_end_timeout: float = 120.0,
        driver_poll_interval: float = 2.0,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("trigger_rule", "all_done")
        kwargs["outlets"] = end_operator_outlets(pipeline_id, kwargs.get("outlets"))  # asset events: assets.py
        super().__init__(pipeline_id=pipeline_id, **kwargs)
        # ``status`` is a template field: checked in execute, once rendered (Airflow's operator rule)
        for name, value in (
            ("driver_end_timeout", driver_end_timeout),
            ("driver_poll_interval", driver_poll_interval),
            ("lease_seconds", lease_seconds),
        ):
            if value < 0 or (name != "driver_end_timeout" and value == 0):
                raise RegistryValidationError(f"{name} must be a positive number of seconds, got {value!r}", field=name)
        self.run_id = run_id
        self.status = status
        self.error_message = error_message
        self.watched_task_ids = list(watched_task_ids) if watched_task_ids is not None else None
        self.fail_on_pipeline_failure = fail_on_pipeline_failure
        self.driver_end_timeout = driver_end_timeout
        self.driver_poll_interval = driver_poll_interval
        self.lease_seconds = lease_seconds

    def _watched(self) -> list[str]:
        if self.watched_task_ids is not None:
            unknown = [t for t in self.watched_task_ids if not self.dag.has_task(t)]
            if unknown:
                raise RegistryValidationError(
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

    def _wait_for_driver(self, run_id: str, run: PipelineRunLog) -> PipelineRunLog:
        """While ``run`` is RUNNING in a driver-claimed attempt with a live heartbeat, wait (bounded)
        for the driver's own end; return the run as last read."""
        lease = timedelta(seconds=self.lease_seconds)
        if run.status.value != "RUNNING" or not run.attempt_claimed or run.is_stale(lease):
            return run
        if self.driver_end_timeout <= 0:
            return run
        self.log.info(
            "Run %s is RUNNING in attempt %s of task %s (try %d), last heartbeat %s: waiting up to %ss for the "
            "driver to record its own end",
            run_id,
            run.attempt_id,
            run.task_id,
            run.try_number,
            self.show(run.heartbeat_at),
            self.driver_end_timeout,
        )
        writes = self.hook.registry.runs_write
        deadline = time.monotonic() + self.driver_end_timeout
        current: PipelineRunLog | None = run
        while time.monotonic() < deadline:
            time.sleep(min(self.driver_poll_interval, max(0.0, deadline - time.monotonic())))
            current = writes.current(run_id, self.pipeline_id)
            if current is None:
                return run
            if current.status.value != "RUNNING" or current.attempt_id != run.attempt_id or current.is_stale(lease):
                return current
        self.log.warning(
            "Run %s: the driver of attempt %s did not record its end within %ss",
            run_id,
            run.attempt_id,
            self.driver_end_timeout,
        )
        return current or run

    def execute(self, context: Context) -> dict[str, str]:
        run_id = self.resolve_run_id(context, self.run_id)
        explicit = bool(self.status)
        if self.status:
            status, error_type, error_message = _parse_status(self.status), None, self.error_message
        else:
            status, error_message = self._status_from_tasks(context)
            error_type = "TaskFailed" if error_message else None
        writes = self.hook.registry.runs_write
        current = writes.current(run_id, self.pipeline_id)
        if current is None:
            raise AirflowException(
                f"run {run_id!r} of pipeline {self.pipeline_id!r} was never started, so {status} cannot be "
                "recorded"
                + (f" ({error_message})" if error_message else "")
                + ": is a StartPipelineRunOperator upstream, in the same task group (or given the same run_id)?"
            )
        current = self._wait_for_driver(run_id, current)
        if current.status.value != "RUNNING":
            return self._report_ended(context, run_id, current, status, explicit)
        end_time = utc_now()
        try:
            run = writes.finish(
                {
                    "run_id": run_id,
                    "pipeline_id": self.pipeline_id,
                    "status": status,
                    "end_time": end_time,
                    "attempt_id": current.attempt_id,
                    "error_type": error_type if status != "SUCCESS" else None,
                    "error_message": error_message if status != "SUCCESS" else None,
                }
            )
        except ItemNotFoundError as exc:
            raise AirflowException(f"run {run_id!r} of pipeline {self.pipeline_id!r} disappeared: {exc}") from exc
        except ConflictError as exc:  # ended (or replaced by a newer attempt) since it was read
            self.log.warning("Run %s of pipeline %r changed while ending it: %s", run_id, self.pipeline_id, exc.message)
            latest = writes.current(run_id, self.pipeline_id)
            if latest is None or latest.status.value == "RUNNING":
                raise AirflowException(
                    f"run {run_id!r} of pipeline {self.pipeline_id!r}: {status} not recorded ({exc.message})"
                ) from exc
            return self._report_ended(context, run_id, latest, status, explicit)
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
        self._fail_if_needed(
            run_id, run.status.value, run.error_message or error_message, explicit_status=status if explicit else None
        )
        emit_end_asset_events(self, context, run)  # SUCCESS only: one event per active target table
        return {"run_id": run_id, "status": run.status.value}

    def _report_ended(
        self, context: Context, run_id: str, run: PipelineRunLog, verdict: str, explicit: bool
    ) -> dict[str, str]:
        """The run ended before this task could end it (e.g. the driver recorded its own end)."""
        stored = run.status.value
        if stored == verdict:
            self.log.info(
                "Run %s of pipeline %r had already ended %s at %s: nothing to do",
                run_id,
                self.pipeline_id,
                stored,
                self.show(run.end_time),
            )
        else:
            self.log.warning(
                "Run %s of pipeline %r ended %s at %s (%s); %s was not recorded over it",
                run_id,
                self.pipeline_id,
                stored,
                self.show(run.end_time),
                redact_text(": ".join(x for x in (run.error_type, run.error_message) if x)) or "no error",
                verdict,
            )
        self._fail_if_needed(run_id, stored, run.error_message, explicit_status=verdict if explicit else None)
        emit_end_asset_events(self, context, run)  # SUCCESS only, whoever recorded it
        return {"run_id": run_id, "status": stored}

    def _fail_if_needed(
        self, run_id: str, status: str, error_message: str | None, *, explicit_status: str | None = None
    ) -> None:
        if not self.fail_on_pipeline_failure:
            return
        if status == "FAILED" or (status == "CANCELLED" and explicit_status != "CANCELLED"):
            raise AirflowException(
                f"pipeline {self.pipeline_id!r} run {run_id!r} {'FAILED' if status == 'FAILED' else 'was CANCELLED'}"
                + (f": {redact_text(error_message)}" if error_message else "")
                + " (set fail_on_pipeline_failure=False to keep this task green)"
            )


def _parse_status(value: str) -> str:
    status = value.strip().upper()
    if status not in END_STATUSES:
        raise RegistryValidationError(f"status must be SUCCESS, FAILED or CANCELLED, got {value!r}", field="status")
    return status

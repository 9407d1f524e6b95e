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
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..assets import emit_end_asset_events, end_operator_outlets
from ..hooks.mixins import registry_template_fields
from ..lineage import PipelineRegistryLineageMixin
from ..links import persist_run_links
from ..registry.errors import ConflictError, ItemNotFoundError, RegistryError, RegistryValidationError
from ..registry.json_values import to_json_value
from ..registry.redaction import redact_args, redact_mapping, redact_text, secret_values
from ..registry.run_env import DEFAULT_LEASE_SECONDS, run_logger_env
from ..registry.run_logs.ending import (  # the one policy of an end from Airflow (no boto3 import)
    DEFAULT_DRIVER_END_TIMEOUT,
    DEFAULT_DRIVER_POLL_INTERVAL,
    check_end_timing,
)
from ..registry.timezones import utc_now
from ..utils.compat import (
    AirflowException,
    AirflowSkipException,
    mask_secret,
    register_sensitive_var_conn_names,
)
from ..utils.run_context import (
    FAILED_STATES,
    IGNORED_STATES,
    OK_STATES,
    airflow_identity,
    source_watermarks,
    watched_task_states,
)
from ..xcom_keys import (  # the XCom keys' home; re-exported here, where they were declared before
    XCOM_APPLICATION,
    XCOM_APPLICATION_ARGS,
    XCOM_ATTEMPT_ID,
    XCOM_RUN_ID,
    XCOM_RUN_LOGGER_ENV,
    XCOM_SPARK_CONF,
    XCOM_WATERMARKS,
)
from .base import PipelineRegistryBaseOperator  # declared in operators/base.py; importable here too

if TYPE_CHECKING:
    from ..registry.run_logs import PipelineRunLog
    from ..utils.compat import Context


class LoadPipelineConfigOperator(PipelineRegistryLineageMixin, PipelineRegistryBaseOperator):
    """Load a pipeline's config and its active table configs and push them to XCom as JSON.

    Return value: ``{"pipeline": {...}, "tables": [...], "run_id": ..., "watermarks": {...}}``
    (datetimes as UTC ISO strings). Extra XCom keys for a ``SparkSubmitOperator``: ``spark_conf``
    (dict), ``application`` (str), ``application_args`` (list), ``run_logger_env`` (dict of
    environment variables for ``PipelineRunLogger.from_env()``, never credentials), ``run_id`` and
    ``watermarks``: ``{table_id: committed watermark or None}`` of the active source tables (also
    in ``run_logger_env`` as ``PIPELINE_REGISTRY_WATERMARKS``; ``run_context.watermark_template``
    puts one in a job's arguments).

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
        persist_run_links(context, self, pipeline_id=self.pipeline_id, run_id=run_id)
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
        watermarks = source_watermarks(registry, self.pipeline_id, run_id, tables)
        env = run_logger_env(
            config,
            pipeline_id=self.pipeline_id,
            run_id=run_id,
            try_number=int(self.try_number) if self.try_number not in (None, "") else None,
            heartbeat_seconds=self.heartbeat_seconds,
            watermarks=watermarks,
        )
        ti = context["ti"]
        ti.xcom_push(key=XCOM_SPARK_CONF, value=spark_conf)
        ti.xcom_push(key=XCOM_APPLICATION, value=application)
        ti.xcom_push(key=XCOM_APPLICATION_ARGS, value=application_args)
        ti.xcom_push(key=XCOM_RUN_LOGGER_ENV, value=env)
        ti.xcom_push(key=XCOM_RUN_ID, value=run_id)
        ti.xcom_push(key=XCOM_WATERMARKS, value=watermarks)

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
        if watermarks:
            self.log.info("Committed watermarks of the source tables: %s", json.dumps(watermarks, sort_keys=True))
        return {"pipeline": pipeline_json, "tables": tables_json, "run_id": run_id, "watermarks": watermarks}


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
        persist_run_links(context, self, pipeline_id=self.pipeline_id, run_id=run_id)
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
    :param watermarks: ``{table_id: new high bound}`` committed with a SUCCESS end, for DAGs whose job
        does not record its run (no run logger) (templated: a dict of templates, or one template
        rendering to a dict or its JSON; a value rendered empty advances nothing). Each is committed
        only if the table's watermark is still the one the run read at its start; never with
        FAILED or CANCELLED (see the README, "Incremental loads").
    """

    template_fields: Sequence[str] = registry_template_fields(
        "pipeline_id", "run_id", "status", "error_message", "watermarks"
    )

    def __init__(
        self,
        *,
        pipeline_id: str,
        run_id: str | None = None,
        status: str | None = None,
        error_message: str | None = None,
        watched_task_ids: Sequence[str] | None = None,
        fail_on_pipeline_failure: bool = True,
        driver_end_timeout: float = DEFAULT_DRIVER_END_TIMEOUT,
        driver_poll_interval: float = DEFAULT_DRIVER_POLL_INTERVAL,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        watermarks: dict[str, Any] | str | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("trigger_rule", "all_done")
        kwargs["outlets"] = end_operator_outlets(pipeline_id, kwargs.get("outlets"))  # asset events: assets.py
        super().__init__(pipeline_id=pipeline_id, **kwargs)
        # ``status`` is a template field: checked in execute, once rendered (Airflow's operator rule)
        check_end_timing(
            driver_end_timeout=driver_end_timeout,
            driver_poll_interval=driver_poll_interval,
            lease_seconds=lease_seconds,
        )
        self.run_id = run_id
        self.status = status
        self.error_message = error_message
        self.watched_task_ids = list(watched_task_ids) if watched_task_ids is not None else None
        self.fail_on_pipeline_failure = fail_on_pipeline_failure
        self.driver_end_timeout = driver_end_timeout
        self.driver_poll_interval = driver_poll_interval
        self.lease_seconds = lease_seconds
        self.watermarks = watermarks

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

    def execute(self, context: Context) -> dict[str, str]:
        from ..registry.run_logs.ending import EndOutcome, RunEnd, end_run, parse_end_status

        run_id = self.resolve_run_id(context, self.run_id)
        explicit = bool(self.status)
        if self.status:
            status, error_type, error_message = parse_end_status(self.status), None, self.error_message
        else:
            verdict, error_message = self._status_from_tasks(context)
            status, error_type = parse_end_status(verdict), "TaskFailed" if error_message else None
        end = RunEnd(
            run_id=run_id,
            pipeline_id=self.pipeline_id,
            status=status,
            error_type=error_type,
            error_message=error_message,
            driver_end_timeout=self.driver_end_timeout,
            driver_poll_interval=self.driver_poll_interval,
            lease_seconds=self.lease_seconds,
            display_tz=self.display_timezone,
            watermarks=_parse_watermarks(self.watermarks),
        )
        try:  # the one policy of an end from Airflow, shared with the end notifiers (registry core)
            result = end_run(self.hook.registry.runs_write, end, logger=self.log)
        except ItemNotFoundError as exc:
            raise AirflowException(
                f"{exc.message}"
                + (f" ({error_message})" if error_message else "")
                + ": is a StartPipelineRunOperator upstream, in the same task group (or given the same run_id)?"
            ) from exc
        except ConflictError as exc:  # a newer attempt runs
            raise AirflowException(
                f"run {run_id!r} of pipeline {self.pipeline_id!r}: {status.value} not recorded ({exc.message})"
            ) from exc
        run = result.run
        persist_run_links(context, self, pipeline_id=self.pipeline_id, run_id=run_id, spark_ui_url=run.spark_ui_url)
        if result.outcome is not EndOutcome.RECORDED:
            return self._report_ended(context, run_id, run, status.value, explicit)
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
            run_id,
            run.status.value,
            run.error_message or error_message,
            explicit_status=status.value if explicit else None,
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


def _parse_watermarks(value: Any) -> dict[str, Any]:
    """The rendered ``watermarks`` argument as ``{table_id: value}`` (empty values dropped)."""
    if value is None or (isinstance(value, str) and value.strip() in ("", "None")):
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise RegistryValidationError(
                f"watermarks must render to a dict of table id to value, got {redact_text(value)!r}", field="watermarks"
            ) from None
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise RegistryValidationError(
            f"watermarks must render to a dict of table id to value, got {type(value).__name__}", field="watermarks"
        )
    return {k: v for k, v in value.items() if v is not None and str(v).strip() not in ("", "None")}

"""Callbacks that record a pipeline run's end: ``on_success_callback`` / ``on_failure_callback``.

::

    SparkSubmitOperator(..., on_failure_callback=record_run_failure(pipeline_id="sales_daily"))
    DAG(..., on_failure_callback=record_run_failure(pipeline_id="sales_daily"))

Each factory returns ``callback(context)``. At task level the run id is derived from the dag run
and the task's group (the same id ``StartPipelineRunOperator`` in that group uses); at DAG level
from the dag run alone, unless ``task_group_id`` or ``run_id`` is given. On failure the exception
type and message are recorded (a DAG-level failure has no exception: the reason and the last task
are recorded instead). A callback never raises into Airflow: any fault is logged with the run id
and what failed, never with credentials. Recording the same end twice is a no-op.

``resolve_pipeline_secrets(pipeline_id=...)`` is a ``pre_execute`` hook for the Spark task: it puts
back the real values of the secrets ``LoadPipelineConfigOperator`` pushed masked (``***``).

A callback emits no asset events: Airflow sends a task's asset events before its success callback
runs, and a DAG-level callback has none. ``EndPipelineRunOperator`` is the producer (``assets.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypedDict, Unpack

from .hooks.mixins import PipelineRegistryHookMixin
from .hooks.pipeline_registry import DEFAULT_CONN_ID
from .registry.errors import redact
from .registry.text_limits import truncate_text
from .run_context import derive_context_run_id, is_dag_level, task_group_id_of

if TYPE_CHECKING:
    from .hooks.pipeline_registry import PipelineRegistryHook

log = logging.getLogger(__name__)

Callback = Callable[[Mapping[str, Any]], None]
RunIdSource = str | Callable[[Mapping[str, Any]], str] | None


class _RecordRunEnd(PipelineRegistryHookMixin):
    """A picklable callable that records one end status (what the factories return)."""

    def __init__(
        self,
        *,
        status: str,
        pipeline_id: str,
        aws_conn_id: str | None,
        run_id: RunIdSource,
        task_group_id: str | None,
        region_name: str | None,
        table_prefix: str | None,
        user_timezone: str | None,
        verify: bool | str | None = None,
        botocore_config: Mapping[str, Any] | None = None,
        registry_settings: Mapping[str, Any] | None = None,
    ) -> None:
        self.status = status
        self.pipeline_id = pipeline_id
        self.run_id = run_id
        self.task_group_id = task_group_id
        self.init_hook_args(
            aws_conn_id=aws_conn_id,
            region_name=region_name,
            table_prefix=table_prefix,
            user_timezone=user_timezone,
            verify=verify,
            botocore_config=botocore_config,
            registry_settings=registry_settings,
        )
        self.__name__ = f"record_run_{status.lower()}"

    def __repr__(self) -> str:
        return f"{self.__name__}(pipeline_id={self.pipeline_id!r}, aws_conn_id={self.aws_conn_id!r})"

    def _hook(self) -> PipelineRegistryHook:
        # a new hook per call: a DAG-level callback object may live as long as the dag processor
        return self.build_hook()

    def _resolve_run_id(self, context: Mapping[str, Any]) -> str:
        if callable(self.run_id):
            return str(self.run_id(context))
        if self.run_id:
            return self.run_id
        group = self.task_group_id
        if group is None and not is_dag_level(context):
            group = task_group_id_of(context.get("task"))
        return derive_context_run_id(context, task_group_id=group)

    def _error(self, context: Mapping[str, Any]) -> tuple[str | None, str | None]:
        if self.status != "FAILED":
            return None, None
        exception = context.get("exception")
        ti = context.get("ti") or context.get("task_instance")
        if is_dag_level(context):
            last = f"; last task: {ti.task_id}" if ti is not None else ""
            return "DagRunFailed", f"dag run failed: {context.get('reason') or 'unknown reason'}{last}"
        where = f"task {ti.task_id} (try {ti.try_number})" if ti is not None else "task"
        if exception is None:
            return "TaskFailed", f"{where} failed"
        if isinstance(exception, BaseException):
            message = str(exception) or repr(exception)
            return type(exception).__name__, truncate_text(redact(f"{where}: {message}"))
        return "TaskFailed", truncate_text(redact(f"{where}: {exception}"))

    def _skipped_task(self, context: Mapping[str, Any]) -> str | None:
        """The id of the task when a success callback fires for a task that was skipped, else None.

        Airflow 2.11 calls a task's ``on_success_callback`` after its ``on_skipped_callback``
        (with the task instance already SKIPPED); a skip is not a successful run.
        """
        if self.status != "SUCCESS" or is_dag_level(context):
            return None
        ti = context.get("ti") or context.get("task_instance")
        state = getattr(ti, "state", None)
        if str(getattr(state, "value", state)).lower() != "skipped":
            return None
        return str(getattr(ti, "task_id", "<unknown>"))

    def __call__(self, context: Mapping[str, Any]) -> None:
        run_id = "<unknown>"
        try:
            skipped = self._skipped_task(context)
            if skipped is not None:
                log.info(
                    "pipeline-registry callback: task %s was skipped, not successful: SUCCESS not recorded for "
                    "pipeline %r",
                    skipped,
                    self.pipeline_id,
                )
                return
            run_id = self._resolve_run_id(context)
            self._record(context, run_id)
        except Exception as exc:  # a callback must never raise into Airflow
            log.error(
                "pipeline-registry callback could not record %s for run %r of pipeline %r: %s: %s",
                self.status,
                run_id,
                self.pipeline_id,
                type(exc).__name__,
                redact(str(exc)),
            )

    def _record(self, context: Mapping[str, Any], run_id: str) -> None:
        from .registry.errors import ConflictError
        from .registry.timezones import format_for_display, utc_now

        hook = self._hook()
        error_type, error_message = self._error(context)
        writes = hook.registry.runs_write
        # fenced on the attempt read now: a callback never ends a newer attempt (a retry's)
        current = writes.current(run_id, self.pipeline_id)
        end_time = utc_now()
        try:
            run = writes.finish(
                {
                    "run_id": run_id,
                    "pipeline_id": self.pipeline_id,
                    "status": self.status,
                    "end_time": end_time,
                    "error_type": error_type,
                    "error_message": error_message,
                    "attempt_id": current.attempt_id if current is not None else None,
                }
            )
        except ConflictError as exc:
            stored = (exc.current or {}).get("status")
            log.warning(
                "pipeline-registry callback: run %r of pipeline %r already ended as %s; %s not recorded over it",
                run_id,
                self.pipeline_id,
                stored,
                self.status,
            )
            return
        when = format_for_display(run.end_time, hook.user_timezone)
        if run.end_time != end_time:
            log.info(
                "pipeline-registry callback: run %r of pipeline %r had already ended %s at %s: nothing to do",
                run_id,
                self.pipeline_id,
                run.status.value,
                when,
            )
            return
        log.info(
            "pipeline-registry callback: run %r of pipeline %r ended %s at %s%s",
            run_id,
            self.pipeline_id,
            run.status.value,
            when,
            f" ({error_type}: {error_message})" if error_message else "",
        )


class CallbackOptions(TypedDict, total=False):
    """Optional arguments of :func:`record_run_success` and :func:`record_run_failure`."""

    #: the ``aws`` connection whose extras carry the registry settings (default ``aws_default``)
    aws_conn_id: str | None
    #: the run id, or ``callable(context) -> run id``; default derived from the dag run and (for
    #: task callbacks) the task's group, as ``StartPipelineRunOperator`` does
    run_id: RunIdSource
    #: the group whose run to end (for DAG-level callbacks)
    task_group_id: str | None
    region_name: str | None
    table_prefix: str | None
    user_timezone: str | None
    #: TLS verification for boto3 (bool or CA bundle path); None: the connection's
    verify: bool | str | None
    #: botocore ``Config`` options; None: the connection's
    botocore_config: dict[str, Any] | None
    #: any other registry setting by its hook argument name (e.g. ``{"max_attempts": 3}``)
    registry_settings: dict[str, Any] | None


def _record_run_end(status: str, pipeline_id: str, options: CallbackOptions) -> Callback:
    settings: dict[str, Any] = {
        "aws_conn_id": DEFAULT_CONN_ID,
        "run_id": None,
        "task_group_id": None,
        "region_name": None,
        "table_prefix": None,
        "user_timezone": None,
    }
    settings.update(options)
    return _RecordRunEnd(status=status, pipeline_id=pipeline_id, **settings)


def record_run_success(*, pipeline_id: str, **options: Unpack[CallbackOptions]) -> Callback:
    """A callback recording SUCCESS for the pipeline run of the current dag run."""
    return _record_run_end("SUCCESS", pipeline_id, options)


def record_run_failure(*, pipeline_id: str, **options: Unpack[CallbackOptions]) -> Callback:
    """A callback recording FAILED, with the exception type and message, for the current run."""
    return _record_run_end("FAILED", pipeline_id, options)


class SecretsOptions(TypedDict, total=False):
    """Optional arguments of :func:`resolve_pipeline_secrets`."""

    aws_conn_id: str | None
    region_name: str | None
    table_prefix: str | None
    user_timezone: str | None
    verify: bool | str | None
    botocore_config: dict[str, Any] | None
    registry_settings: dict[str, Any] | None


#: the attributes a Spark operator keeps its rendered fields in (``SparkSubmitOperator``; ``_``: older providers)
_CONF_ATTRS = ("conf", "_conf")
_ARGS_ATTRS = ("application_args", "_application_args")
_APPLICATION_ATTRS = ("application", "_application")


def _attr(task: Any, names: tuple[str, ...]) -> str | None:
    return next((n for n in names if hasattr(task, n)), None)


class _ResolvePipelineSecrets(PipelineRegistryHookMixin):
    """A picklable ``pre_execute`` hook: the task's masked conf, arguments and application get the
    real values from the registry, in the task's own process, after its fields were rendered (and
    recorded, masked, as rendered fields), each real value handed to Airflow's ``mask_secret``."""

    def __init__(self, *, pipeline_id: str, **options: Any) -> None:
        self.pipeline_id = pipeline_id
        self.init_hook_args(
            aws_conn_id=options.get("aws_conn_id", DEFAULT_CONN_ID),
            region_name=options.get("region_name"),
            table_prefix=options.get("table_prefix"),
            user_timezone=options.get("user_timezone"),
            verify=options.get("verify"),
            botocore_config=options.get("botocore_config"),
            registry_settings=options.get("registry_settings"),
        )
        self.__name__ = "resolve_pipeline_secrets"

    def __repr__(self) -> str:
        return f"{self.__name__}(pipeline_id={self.pipeline_id!r}, aws_conn_id={self.aws_conn_id!r})"

    def __call__(self, context: Mapping[str, Any]) -> None:
        from .compat import AirflowException, mask_secret, register_sensitive_var_conn_names
        from .registry.redaction import looks_redacted, redact_args, redact_text, redact_value, secret_values

        ti = context.get("ti")
        task = getattr(ti, "task", None) or context["task"]
        pipeline = self.build_hook().registry.pipelines.find_entity(self.pipeline_id, consistent=True)
        if pipeline is None:
            raise AirflowException(f"resolve_pipeline_secrets: pipeline {self.pipeline_id!r} not found")
        register_sensitive_var_conn_names()
        stored_conf = dict(pipeline.spark_conf)
        stored_args = list(pipeline.spark_args)
        stored_application = pipeline.spark_application or ""
        for secret in secret_values(None, {"conf": stored_conf, "args": stored_args, "app": stored_application}):
            mask_secret(secret)
        unresolved: list[str] = []
        resolved = 0

        conf_attr = _attr(task, _CONF_ATTRS)
        conf = getattr(task, conf_attr) if conf_attr else None
        if isinstance(conf, dict):
            for key, value in list(conf.items()):
                real = stored_conf.get(key)
                if real is not None and value != real and value == redact_value(key, real):
                    conf[key] = real
                    resolved += 1
                elif looks_redacted(value):
                    unresolved.append(f"conf[{key!r}]")

        args_attr = _attr(task, _ARGS_ATTRS)
        args = getattr(task, args_attr) if args_attr else None
        if isinstance(args, list):
            shown = redact_args(stored_args)
            for index, value in enumerate(args):
                if not isinstance(value, str) or value == "":
                    continue
                real_arg = _real_arg(index, value, args, stored_args, shown)
                if real_arg is not None:
                    args[index] = real_arg
                    resolved += 1
                elif looks_redacted(value):
                    unresolved.append(f"application_args[{index}]")

        app_attr = _attr(task, _APPLICATION_ATTRS)
        application = getattr(task, app_attr) if app_attr else None
        if isinstance(application, str) and application and application != stored_application:
            if application == redact_text(stored_application):
                setattr(task, app_attr or "application", stored_application)
                resolved += 1
            elif looks_redacted(application):
                unresolved.append("application")

        if unresolved:
            raise AirflowException(
                f"resolve_pipeline_secrets: {', '.join(unresolved)} of task {getattr(task, 'task_id', '?')} "
                f"hold(s) a masked value (***) that pipeline {self.pipeline_id!r} (version {pipeline.version}) "
                "no longer has: clear the load task to run with the current config"
            )
        log.info(
            "resolve_pipeline_secrets: %d masked value(s) of pipeline %r (version %d) given their real value "
            "for task %s (masked in its log)",
            resolved,
            self.pipeline_id,
            pipeline.version,
            getattr(task, "task_id", "?"),
        )


def _real_arg(index: int, value: str, given: list[Any], stored: list[str], shown: list[Any]) -> str | None:
    """The stored argument a masked ``value`` stands for: the same position when the lists line up,
    else the one stored argument that masks to it; None when ``value`` is not masked."""
    if len(given) == len(stored) and shown[index] == value and stored[index] != value:
        return stored[index]
    candidates = {s for s, m in zip(stored, shown, strict=True) if m == value and s != value}
    return candidates.pop() if len(candidates) == 1 else None


def resolve_pipeline_secrets(*, pipeline_id: str, **options: Unpack[SecretsOptions]) -> Callback:
    """A ``pre_execute`` hook for the Spark task fed by ``LoadPipelineConfigOperator``'s XCom::

        SparkSubmitOperator(..., conf=..., application_args=...,
                            pre_execute=resolve_pipeline_secrets(pipeline_id="sales_daily"))

    XCom carries the config masked (``***``); this hook reads the pipeline again (same connection
    arguments as the operators) and, in the Spark task's own process, replaces each masked value
    of ``conf``, ``application_args`` and ``application`` with the stored one, after Airflow has
    recorded the rendered fields (masked) and after handing every real value to Airflow's
    ``mask_secret`` (so the spark-submit command line Airflow logs shows ``***``). A masked value
    the current config no longer has fails the task, naming it.
    """
    return _ResolvePipelineSecrets(pipeline_id=pipeline_id, **options)

"""Notifiers that record a pipeline run's end: ``on_success_callback`` / ``on_failure_callback``.

::

    SparkSubmitOperator(..., on_failure_callback=PipelineRunFailureNotifier(pipeline_id="sales_daily"))
    DAG(..., on_success_callback=PipelineRunSuccessNotifier(pipeline_id="sales_daily"))

At task level the run id is derived from the dag run and the task's group (the same id
``StartPipelineRunOperator`` in that group uses); at DAG level from the dag run alone, unless
``task_group_id`` or ``run_id`` is given. On failure the exception type and message are recorded (a
DAG-level failure has no exception: the reason and the last task are recorded instead).

The end is recorded by the same policy as ``EndPipelineRunOperator``'s
(:func:`~airflow_provider_pipeline_registry.registry.run_logs.ending.end_run`): a run that already
ended keeps its end, a live driver's own end is waited for, and the end is fenced on the attempt
read. A notifier never raises into Airflow: any fault is logged with the run id and what failed,
never with credentials.

A notifier emits no asset events: Airflow sends a task's asset events before its success callback
runs, and a DAG-level callback has none. ``EndPipelineRunOperator`` is the producer (``assets.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from ..registry.errors import redact
from ..registry.run_env import DEFAULT_LEASE_SECONDS
from ..registry.run_logs.ending import (
    DEFAULT_DRIVER_END_TIMEOUT,
    DEFAULT_DRIVER_POLL_INTERVAL,
    check_end_timing,
)
from ..registry.run_logs.status import RunStatus
from ..registry.text_limits import truncate_text
from ..utils.run_context import derive_context_run_id, is_dag_level, task_group_id_of
from .base import PipelineRegistryBaseNotifier

log = logging.getLogger(__name__)

#: the run id of a notifier: text, ``callable(context) -> run id``, or None (derived)
RunIdSource = str | Callable[[Mapping[str, Any]], str] | None


class PipelineRunEndNotifier(PipelineRegistryBaseNotifier):
    """Record the end :attr:`status` of the current pipeline run (a base: use the two below).

    :param pipeline_id: the pipeline (templated).
    :param run_id: the run id, or ``callable(context) -> run id``; default derived from the dag
        run and (for a task callback) the task's group, as ``StartPipelineRunOperator`` does.
    :param task_group_id: the group whose run to end (for a DAG-level callback).
    :param driver_end_timeout: seconds to wait for a live driver's own end (0: do not wait).
    :param driver_poll_interval: seconds between two reads while waiting.
    :param lease_seconds: a claimed attempt whose heartbeat is older than this is not waited for.

    The connection arguments and registry settings: :class:`PipelineRegistryBaseNotifier`.
    """

    #: the end this notifier records
    status: ClassVar[RunStatus]

    def __init__(
        self,
        *,
        pipeline_id: str,
        run_id: RunIdSource = None,
        task_group_id: str | None = None,
        driver_end_timeout: float = DEFAULT_DRIVER_END_TIMEOUT,
        driver_poll_interval: float = DEFAULT_DRIVER_POLL_INTERVAL,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        **kwargs: Any,
    ) -> None:
        super().__init__(pipeline_id=pipeline_id, **kwargs)
        check_end_timing(
            driver_end_timeout=driver_end_timeout,
            driver_poll_interval=driver_poll_interval,
            lease_seconds=lease_seconds,
        )
        self.run_id = run_id
        self.task_group_id = task_group_id
        self.driver_end_timeout = driver_end_timeout
        self.driver_poll_interval = driver_poll_interval
        self.lease_seconds = lease_seconds
        #: the name Airflow shows for this callback (the old factory's)
        self.__name__ = f"record_run_{self.status.value.lower()}"

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
        if self.status is not RunStatus.FAILED:
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
        if self.status is not RunStatus.SUCCESS or is_dag_level(context):
            return None
        ti = context.get("ti") or context.get("task_instance")
        state = getattr(ti, "state", None)
        if str(getattr(state, "value", state)).lower() != "skipped":
            return None
        return str(getattr(ti, "task_id", "<unknown>"))

    def notify(self, context: Any) -> None:
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
                self.status.value,
                run_id,
                self.pipeline_id,
                type(exc).__name__,
                redact(str(exc)),
            )

    def _record(self, context: Mapping[str, Any], run_id: str) -> None:
        from ..registry.run_logs.ending import EndOutcome, RunEnd, end_run
        from ..registry.timezones import format_for_display

        hook = self.build_hook()  # a new hook per call: a DAG-level notifier may live as long as the dag processor
        error_type, error_message = self._error(context)
        end = RunEnd(
            run_id=run_id,
            pipeline_id=self.pipeline_id,
            status=self.status,
            error_type=error_type,
            error_message=error_message,
            driver_end_timeout=self.driver_end_timeout,
            driver_poll_interval=self.driver_poll_interval,
            lease_seconds=self.lease_seconds,
            display_tz=hook.user_timezone,
        )
        # the one policy of an end from Airflow, shared with EndPipelineRunOperator (registry core)
        result = end_run(hook.registry.runs_write, end, logger=log)
        run = result.run
        when = format_for_display(run.end_time, hook.user_timezone)
        if result.outcome is EndOutcome.ENDED_OTHERWISE:
            log.warning(
                "pipeline-registry callback: run %r of pipeline %r already ended as %s; %s not recorded over it",
                run_id,
                self.pipeline_id,
                run.status.value,
                self.status.value,
            )
        elif result.outcome is EndOutcome.ALREADY_ENDED:
            log.info(
                "pipeline-registry callback: run %r of pipeline %r had already ended %s at %s: nothing to do",
                run_id,
                self.pipeline_id,
                run.status.value,
                when,
            )
        else:
            log.info(
                "pipeline-registry callback: run %r of pipeline %r ended %s at %s%s",
                run_id,
                self.pipeline_id,
                run.status.value,
                when,
                f" ({error_type}: {error_message})" if error_message else "",
            )


class PipelineRunSuccessNotifier(PipelineRunEndNotifier):
    """Record SUCCESS for the current pipeline run (``on_success_callback`` of a task or a DAG).

    A task that was skipped is not a success: nothing is recorded for it.
    """

    status = RunStatus.SUCCESS


class PipelineRunFailureNotifier(PipelineRunEndNotifier):
    """Record FAILED, with the exception type and message, for the current pipeline run
    (``on_failure_callback`` of a task or a DAG)."""

    status = RunStatus.FAILED

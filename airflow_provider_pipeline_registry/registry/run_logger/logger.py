"""``PipelineRunLogger``, the context manager a Spark driver records its own run with: it joins
the run as its own attempt on enter, sends heartbeats (metrics and Spark identity) from a daemon
thread, and writes the end on exit (retried, then logged: never the job's outcome replaced)."""

from __future__ import annotations

import logging
import math
import os
import signal
import sys
import threading
import time
import warnings
from collections.abc import Mapping
from datetime import datetime, timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Any

from ..config import DynamoDBConfig
from ..errors import (
    AttemptSupersededError,
    ConflictError,
    ItemNotFoundError,
    RegistryError,
    RegistryValidationError,
    RetryableError,
    WatermarkConflictError,
)
from ..run_env import DEFAULT_LEASE_SECONDS
from ..text_limits import truncate_text
from ..timezones import format_for_display, utc_now
from .cancellation import (
    _EXIT_RESERVE_SECONDS,
    CANCEL_EXIT_SECONDS,
    PipelineRunCancelled,
    SignalCancellation,
    _ExitDeadlinePassed,
)
from .environment import logger_arguments
from .outcome import run_outcome
from .spark import _SPARK_SUBMIT_MARKER_ENV, spark_identity

if TYPE_CHECKING:
    from ..facade import Registry
    from ..run_logs import PipelineRunLog, PipelineRunLogsWriteApi, RunStatus

log = logging.getLogger(__name__.rpartition(".")[0])  # the package's logger (its name as before the split)

_MAX_METRIC_NAME = 255


def _renamed(old: str, old_value: Any, new: str, new_value: Any) -> Any:
    """``new_value``, or ``old_value`` given under a deprecated keyword (a DeprecationWarning naming
    both); both given is a RegistryValidationError naming the old one."""
    if old_value is None:
        return new_value
    if new_value is not None:
        raise RegistryValidationError(f"give {new}= only ({old}= is its deprecated former name)", field=old)
    warnings.warn(f"PipelineRunLogger({old}=...) is deprecated: use {new}=...", DeprecationWarning, stacklevel=3)
    return old_value


def _check_metric(name: str, value: int | float) -> None:
    if not isinstance(name, str) or not name.strip() or len(name) > _MAX_METRIC_NAME:
        raise RegistryValidationError(
            f"metric name must be a 1-{_MAX_METRIC_NAME} character string, got {name!r}", field=name
        )
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RegistryValidationError(
            f"metric {name!r} must be an int or float, got {type(value).__name__}", field=name
        )
    if isinstance(value, float) and not math.isfinite(value):
        raise RegistryValidationError(f"metric {name!r} must be finite, got {value!r}", field=name)


class PipelineRunLogger(SignalCancellation):
    """Record one pipeline run from inside the Spark driver; use as a context manager.

    :param pipeline_id: the pipeline's id.
    :param run_id: the run's id (``derive_run_id`` under Airflow).
    :param settings: how the registry is reached (a ``DynamoDBConfig``; default: ``registry.config``
        or ``DynamoDBConfig.from_env()``). ``config=`` is its deprecated former name.
    :param try_number: the try of the task running the job (the Spark task's own ``ti.try_number``).
    :param task_id: the task running the job (recorded as the run's ``task_id``).
    :param opened_attempt_id: the attempt ``StartPipelineRunOperator`` opened (its XCom
        ``attempt_id``, the variable ``PIPELINE_REGISTRY_ATTEMPT_ID``): the driver claims only that
        one (see ``PipelineRunLogsWriteApi.join``). Not the logger's own :attr:`attempt_id`.
        ``attempt_id=`` is its deprecated former name.
    :param lease_seconds: a RUNNING attempt whose heartbeat is older than this may be taken over
        (default: 300 s, or 3 heartbeat intervals if longer; must exceed ``heartbeat_interval``).
    :param heartbeat_interval: seconds between heartbeats from a daemon thread.
    :param registry: an existing ``Registry`` (else one is built from ``settings``).
    :param spark: a Spark session to attach on enter (same as :meth:`attach_spark`).
    :param end_retry_seconds: total time budget for retrying the end write.
    :param handle_sigterm: install SIGTERM and SIGINT handlers that end the run CANCELLED (main thread only).
    :param watch_parent: treat the parent process's death as a cancellation (default: when launched
        by spark-submit, whose JVM is the parent and never forwards SIGTERM to the Python driver).
    """

    def __init__(
        self,
        *,
        pipeline_id: str,
        run_id: str,
        settings: DynamoDBConfig | None = None,
        try_number: int | None = None,
        heartbeat_interval: float = 30.0,
        registry: Registry | None = None,
        spark: Any = None,
        end_retry_seconds: float = 60.0,
        handle_sigterm: bool = True,
        watch_parent: bool | None = None,
        dag_id: str | None = None,
        dag_run_id: str | None = None,
        task_id: str | None = None,
        opened_attempt_id: str | None = None,
        lease_seconds: float | None = None,
        config: DynamoDBConfig | None = None,
        attempt_id: str | None = None,
    ) -> None:
        settings = _renamed("config", config, "settings", settings)
        opened_attempt_id = _renamed("attempt_id", attempt_id, "opened_attempt_id", opened_attempt_id)
        if heartbeat_interval <= 0:
            raise RegistryValidationError("heartbeat_interval must be > 0 seconds", field="heartbeat_interval")
        if end_retry_seconds < 0:
            raise RegistryValidationError("end_retry_seconds must be >= 0", field="end_retry_seconds")
        if lease_seconds is None:
            lease_seconds = max(DEFAULT_LEASE_SECONDS, 3 * heartbeat_interval)
        if lease_seconds <= heartbeat_interval:
            raise RegistryValidationError(
                f"lease_seconds ({lease_seconds}) must be longer than heartbeat_interval ({heartbeat_interval})",
                field="lease_seconds",
            )
        if registry is None:
            from ..facade import Registry

            registry = Registry(settings or DynamoDBConfig.from_env())
        self.registry = registry
        #: how the registry is reached (``DynamoDBConfig``)
        self.settings = settings or registry.config
        self.pipeline_id = pipeline_id
        self.run_id = run_id
        self.try_number = try_number
        self.heartbeat_interval = float(heartbeat_interval)
        self.end_retry_seconds = float(end_retry_seconds)
        self.lease_seconds = float(lease_seconds)
        self.handle_sigterm = handle_sigterm
        self.watch_parent = (_SPARK_SUBMIT_MARKER_ENV in os.environ) if watch_parent is None else watch_parent
        self._identity = {"dag_id": dag_id, "dag_run_id": dag_run_id, "task_id": task_id}
        #: the attempt the start operator opened, for this driver to claim (None: any unclaimed one)
        self.opened_attempt_id = opened_attempt_id
        #: this logger's own attempt id (the run's ``attempt_id`` once joined)
        self.attempt_id: str | None = None
        self._spark_to_attach = spark

        self._metrics: dict[str, int | float] = {}
        self._spark: dict[str, str | None] = {}
        self._lock = threading.Lock()  # guards _metrics and _spark; never held across I/O (see _locked)
        self._end_lock = threading.Lock()  # guards _end_claimed; never held across I/O
        self._end_claimed = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._end_writer: threading.Thread | None = None
        self._watcher: threading.Thread | None = None
        self._phase = "new"  # new -> running -> ending -> ended
        self._ended_status: RunStatus | None = None
        self._superseded = False
        self._init_cancellation()  # the signal state (see cancellation.py)
        self._started_at: datetime | None = None
        self.heartbeats_sent = 0
        #: what the run read of its tables' watermarks (set by the join), and what it staged since
        self._watermark_reads: dict[str, dict[str, Any]] = {}
        self._staged: dict[str, str] = {}
        #: set when the SUCCESS end could not commit a watermark (the run is then recorded FAILED)
        self.watermark_conflict: WatermarkConflictError | None = None

    def __repr__(self) -> str:
        return f"PipelineRunLogger(run_id={self.run_id!r}, pipeline_id={self.pipeline_id!r}, phase={self._phase!r})"

    @property
    def config(self) -> DynamoDBConfig:
        """Deprecated name of :attr:`settings`."""
        return self.settings

    @property
    def expected_attempt_id(self) -> str | None:
        """Deprecated name of :attr:`opened_attempt_id`."""
        return self.opened_attempt_id

    # -- construction from the environment ------------------------------------------------------
    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> PipelineRunLogger:
        """Build from the variables of :func:`run_logger_env` (``DYNAMODB_*``, ``PIPELINE_REGISTRY_*``).

        ``environ`` defaults to ``os.environ`` (it may also be the ``run_logger_env`` XCom dict,
        merged with the Spark task's own ``spark_task_env``); keyword overrides win over the
        environment. The task identity (``PIPELINE_REGISTRY_TRY_NUMBER``/``_TASK_ID``, else
        Airflow's ``AIRFLOW_CTX_*``) is read from ``environ``, then from the process environment.
        """
        return cls(**logger_arguments(environ, overrides))

    # -- metrics and Spark ---------------------------------------------------------------------
    @property
    def metrics(self) -> dict[str, int | float]:
        """A copy of the metrics collected so far."""
        with self._locked():
            return dict(self._metrics)

    @property
    def status(self) -> RunStatus | None:
        """The end status recorded (or attempted) by this logger, None while running."""
        return self._ended_status

    @property
    def superseded(self) -> bool:
        """True once a write was refused because a newer attempt replaced this logger's."""
        return self._superseded

    def add_metric(self, name: str, value: int | float) -> None:
        """Set metric ``name`` to ``value`` (written with the next heartbeat/flush and with the end)."""
        _check_metric(name, value)
        with self._locked():
            self._metrics[name] = value

    def increment(self, name: str, by: int | float = 1) -> int | float:
        """Add ``by`` to metric ``name`` (starting at 0) and return the new value."""
        _check_metric(name, by)
        with self._locked():
            value = self._metrics.get(name, 0) + by
            _check_metric(name, value)
            self._metrics[name] = value
            return value

    def records_read(self, count: int) -> None:
        """Add ``count`` to the ``records_read`` metric."""
        self.increment("records_read", count)

    def records_written(self, count: int) -> None:
        """Add ``count`` to the ``records_written`` metric."""
        self.increment("records_written", count)

    # -- watermarks (see the README, "Incremental loads") --------------------------------------
    def _read_of(self, table_id: str) -> dict[str, Any]:
        if self._phase == "new":
            raise RuntimeError("watermarks are read when the run starts: enter the logger first")
        read = self._watermark_reads.get(table_id)
        if read is None:
            known = ", ".join(sorted(self._watermark_reads)) or "none"
            raise RegistryValidationError(
                f"run {self.run_id!r} did not read a watermark of table {table_id!r} (the pipeline's active "
                f"tables when it started: {known})",
                field=f"watermarks.{table_id}",
            )
        return read

    def watermark(self, table_id: str) -> str | None:
        """The committed low bound of ``table_id`` this run reads from: the value committed when the
        run started (None before the first commit), the same for every attempt of the run."""
        value = self._read_of(table_id).get("from")
        return None if value is None else str(value)

    def advance_watermark(self, table_id: str, value: Any) -> str:
        """Stage ``value`` as ``table_id``'s new high bound (typed by its ``watermark_type``; the
        canonical text is returned). Committed only by this attempt's SUCCESS end, with it, in one
        transaction; a FAILED or CANCELLED end commits nothing. An advance below :meth:`watermark`
        is :class:`WatermarkBackwardsError`. The value is also kept in memory and sent with the
        end, so a stage write lost to a DynamoDB fault is still committed by the end."""
        from airflow_provider_pipeline_registry.registry.watermarks.values import checked_advance

        text = checked_advance(self._read_of(table_id), table_id, value)
        with self._locked():
            self._staged[table_id] = text
        if self._superseded:
            return text
        try:
            self._api.stage_watermark(self.run_id, self.pipeline_id, table_id, text, attempt_id=self.attempt_id)
        except AttemptSupersededError as exc:
            self._note_superseded(exc)
        except (RegistryValidationError, WatermarkConflictError):
            raise
        except RegistryError as exc:
            log.warning(
                "run %s: staging the watermark of %s failed (the end sends it again): %s", self.run_id, table_id, exc
            )
        return text

    def advance_watermark_from(self, table_id: str, df: Any, column: str | None = None) -> str | None:
        """Stage the high bound of ``df`` (``max`` of ``column``, default the table's
        ``watermark_column``) in one aggregate; None (nothing staged) when ``df`` has no rows."""
        from airflow_provider_pipeline_registry.registry.watermarks.spark import high_watermark

        read = self._read_of(table_id)
        name = column or read.get("column")
        if not name:
            raise RegistryValidationError(
                f"table {table_id!r} declares no watermark_column: pass column=...", field="watermark_column"
            )
        high = high_watermark(df, name, read.get("type") or "string", table_id=table_id)
        return None if high is None else self.advance_watermark(table_id, high)

    @property
    def staged_watermarks(self) -> dict[str, str]:
        """A copy of what this attempt staged (committed by its SUCCESS end)."""
        with self._locked():
            return dict(self._staged)

    def attach_spark(self, spark: Any) -> dict[str, str | None]:
        """Record the session's application id, name and UI URL (and flush them when running)."""
        identity = spark_identity(spark)
        with self._locked():
            self._spark = {k: v for k, v in identity.items() if v is not None}
        log.info(
            "run %s: Spark application %s (%s)",
            self.run_id,
            identity["spark_application_id"] or "?",
            identity["spark_application_name"] or "?",
        )
        if self._phase == "running":
            self._flush()
        return identity

    def flush(self) -> PipelineRunLog | None:
        """Write the metrics and Spark identity now (a heartbeat). Returns the stored run, or None
        when the write failed (logged; the job carries on) or a newer attempt replaced this one."""
        return self._flush()

    def _flush(self) -> PipelineRunLog | None:
        if self._superseded:
            return None
        try:
            return self._heartbeat()
        except AttemptSupersededError as exc:
            self._note_superseded(exc)
        except ConflictError as exc:
            log.warning("run %s: cannot flush, %s", self.run_id, exc.message)
        except RegistryError as exc:
            log.warning("run %s: flush failed, will be retried with the next heartbeat: %s", self.run_id, exc)
        return None

    def _heartbeat(self) -> PipelineRunLog:
        with self._locked():
            metrics, spark = dict(self._metrics), dict(self._spark)
        stored = self._api.heartbeat(
            self.run_id, self.pipeline_id, metrics=metrics, spark=spark, attempt_id=self.attempt_id
        )
        self.heartbeats_sent += 1
        return stored

    def _note_superseded(self, exc: AttemptSupersededError) -> None:
        if not self._superseded:
            self._superseded = True
            current = exc.current or {}
            log.warning(
                "run %s: attempt %s was replaced by attempt %s (try %s): this driver stops writing to the run",
                self.run_id,
                self.attempt_id,
                current.get("attempt_id", "?"),
                current.get("try_number", "?"),
            )

    @property
    def _api(self) -> PipelineRunLogsWriteApi:
        return self.registry.runs_write

    def _when(self, value: datetime | None = None) -> str:
        return format_for_display(value or utc_now(), self.settings.user_timezone)

    # -- lifecycle -----------------------------------------------------------------------------
    def __enter__(self) -> PipelineRunLogger:
        if self._phase != "new":
            raise RuntimeError("a PipelineRunLogger can be entered only once")
        _ensure_visible_logging()
        from ..run_logs import RunStart
        from ..run_logs.models import new_attempt_id

        self.attempt_id = new_attempt_id()
        start = RunStart(
            run_id=self.run_id,
            pipeline_id=self.pipeline_id,
            try_number=self.try_number or 1,
            attempt_id=self.attempt_id,
            **{k: v for k, v in self._identity.items() if v is not None},
        )
        self._install_signal_handlers()  # a signal during the start is not lost: acted on below
        try:
            # made by a helper thread: a signal during a stalled start still exits in bounded time
            stored = self._call_bounded(
                "pipeline-registry-start",
                lambda: self._api.join(
                    start,
                    opened_attempt_id=self.opened_attempt_id,
                    lease=timedelta(seconds=self.lease_seconds),
                    try_number_known=self.try_number is not None,
                ),
            )
        except BaseException as exc:
            self._restore_signal_handlers()
            self._close_wake_pipe()
            signum = self._cancel_signum
            if signum is not None:  # a signal came during the refused or unanswered start
                if isinstance(exc, _ExitDeadlinePassed):
                    log.error(
                        "run %s: %s while starting and DynamoDB did not answer within %.0fs: exiting; "
                        "attempt %s may stay RUNNING until its lease (%.0fs) expires",
                        self.run_id,
                        self._cancel_reason,
                        CANCEL_EXIT_SECONDS - _EXIT_RESERVE_SECONDS,
                        self.attempt_id,
                        self.lease_seconds,
                    )
                signal.raise_signal(signum)  # deliver it to the previous handler now
                if isinstance(exc, _ExitDeadlinePassed):
                    raise PipelineRunCancelled(signum, self._cancel_reason or "cancelled") from None
            raise
        self.try_number = stored.try_number
        self._started_at = stored.start_time
        self._watermark_reads = dict(stored.watermarks or {})
        try:
            # from here a signal raises PipelineRunCancelled (outside the metrics lock): end the run
            self._phase = "running"
            self._raise_pending_cancel()  # a signal arrived while starting: end CANCELLED now
            log.info(
                "run %s of pipeline %s: RUNNING (attempt %s, try %d%s) since %s",
                self.run_id,
                self.pipeline_id,
                self.attempt_id,
                stored.try_number,
                f", task {stored.task_id}" if stored.task_id else "",
                self._when(stored.start_time),
            )
            self._thread = threading.Thread(
                target=self._heartbeat_loop, name="pipeline-registry-heartbeat", daemon=True
            )
            self._thread.start()
            if self._handlers_installed or self.watch_parent:
                self._watcher = threading.Thread(target=self._watch_loop, name="pipeline-registry-watcher", daemon=True)
                self._watcher.start()
            if self._spark_to_attach is not None:
                self.attach_spark(self._spark_to_attach)
        except BaseException as exc:
            self.__exit__(type(exc), exc, exc.__traceback__)
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Never returns True: the job's own exception always propagates unchanged.
        from ..run_logs import RunStatus

        if self._phase in ("ending", "ended"):
            return
        self._phase = "ending"  # from here on a signal never interrupts: it only sets the deadline
        if self._exit_deadline is not None and self._exit_deadline <= time.monotonic():
            self._exit_deadline = None  # the job kept running past the bound after a signal: a new one
            self._set_exit_deadline()
        self._stop.set()
        self._wake()
        signum = self._cancel_signum
        try:
            status, error_type, message = run_outcome(exc)
            budget = self.end_retry_seconds
            if signum is not None:
                reason = self._cancel_reason or "cancelled"
                if exc is not None and not isinstance(exc, PipelineRunCancelled):
                    reason = f"{reason}; then the job raised {error_type}: {message}"
                status, error_type, message = (
                    RunStatus.CANCELLED,
                    "Cancelled",
                    truncate_text(reason),
                )
                log.warning("run %s: %s at %s: recording CANCELLED", self.run_id, self._cancel_reason, self._when())
            elif exc is not None and self._parent_gone(exc):
                message = f"parent process {self._parent_pid} exited; then the job raised {error_type}: {message}"
                status, error_type = RunStatus.CANCELLED, "Cancelled"
                message = truncate_text(message)
                self._set_exit_deadline()
            self._write_end(status, error_type, message, budget=budget)
            self._join_threads()
        except Exception:  # the logger must never replace the job's outcome
            log.exception("run %s: unexpected error while recording the end", self.run_id)
        finally:
            self._phase = "ended"
            previous = self._restore_signal_handlers()
            self._close_wake_pipe()
        chained = signum if signum is not None else self._late_signum
        if chained is None:
            return
        if signum is None:
            log.warning("run %s: a signal arrived while recording the end; exiting now", self.run_id)
        handler = previous.get(chained)
        if callable(handler):
            handler(chained, None)  # e.g. Airflow's handler (raises), or SIGINT's KeyboardInterrupt
        if exc is None:
            raise PipelineRunCancelled(chained, self._cancel_reason or "signal received while recording the end")

    def _write_end(self, status: RunStatus, error_type: str | None, message: str | None, *, budget: float) -> None:
        """The end write, made by a daemon thread (``_record_end``) and waited for until the exit
        deadline at most: a stalled DynamoDB cannot hold the process after a signal."""
        thread = threading.Thread(
            target=self._record_end_logged,
            args=(status, error_type, message),
            kwargs={"budget": budget},
            name="pipeline-registry-end",
            daemon=True,
        )
        self._end_writer = thread
        thread.start()
        if not self._wait_for(thread):
            outcome = status.value + (f" ({error_type}: {message})" if error_type else "")
            self._log_unrecorded(
                outcome,
                f"no answer from DynamoDB {CANCEL_EXIT_SECONDS - _EXIT_RESERVE_SECONDS:.0f}s after the signal, "
                f"within the {CANCEL_EXIT_SECONDS:.0f}s exit bound (the write may still have been applied)",
            )

    def _record_end_logged(
        self, status: RunStatus, error_type: str | None, message: str | None, *, budget: float
    ) -> None:
        try:
            self._record_end(status, error_type, message, budget=budget)
        except Exception:  # the logger must never replace the job's outcome
            log.exception("run %s: unexpected error while recording the end", self.run_id)

    def _join_threads(self) -> None:
        """Join the watcher and heartbeat threads (stopped), up to the exit deadline after a signal."""
        timeout = max(5.0, self.settings.read_timeout + self.settings.connect_timeout)
        for thread in (self._watcher, self._thread):
            if thread is not None and thread is not threading.current_thread():
                self._wait_for(thread, default_deadline=time.monotonic() + timeout)

    def _claim_end(self, status: RunStatus) -> bool:
        """Claim the right to write the end (once per logger); the lock is held only for the flag."""
        with self._end_lock:
            if self._end_claimed:
                return False
            self._end_claimed = True
            self._ended_status = status
            return True

    def _record_end(self, status: RunStatus, error_type: str | None, message: str | None, *, budget: float) -> bool:
        """Write the end, retrying transient faults with backoff for ``budget`` seconds. Never raises
        a registry error: a failure is logged with the run id and the job's real outcome. Reentrant
        and thread-safe: the first caller writes, later ones return at once; no lock is held
        during the write."""
        from ..run_logs import RunFinish

        if not self._claim_end(status):
            return True
        outcome = status.value + (f" ({error_type}: {message})" if error_type else "")
        if self._superseded:
            log.warning("run %s: a newer attempt replaced this one; not recording %s", self.run_id, outcome)
            return False
        with self._lock:
            metrics = dict(self._metrics)
            spark = dict(self._spark)
            staged = dict(self._staged)
        end = RunFinish(
            run_id=self.run_id,
            pipeline_id=self.pipeline_id,
            status=status,
            attempt_id=self.attempt_id,
            metrics=metrics,
            error_type=error_type,
            error_message=message,
            watermarks=staged if status.value == "SUCCESS" else {},
        )
        deadline = time.monotonic() + budget
        delay, attempt = 0.2, 0
        while True:
            attempt += 1
            deadline = min(deadline, self._exit_deadline or math.inf)  # a signal bounds the retries
            try:
                if spark and self.heartbeats_sent == 0:
                    self._heartbeat()  # the Spark identity travels only with heartbeats
                if end.watermarks:  # what the join read is the run's snapshot: no read before the commit
                    stored = self._api.commit_end(end, read=self._watermark_reads)
                else:
                    stored = self._api.finish(end)
            except AttemptSupersededError as exc:
                self._note_superseded(exc)
                log.warning("run %s: not recording %s over a newer attempt (%s)", self.run_id, outcome, exc.message)
                return False
            except WatermarkConflictError as exc:
                self.watermark_conflict = exc
                log.error(
                    "run %s: the job succeeded but its watermarks were not committed: %s", self.run_id, exc.message
                )
                return False
            except ConflictError as exc:
                log.warning(
                    "run %s: not recording %s, the run is already %s (%s)",
                    self.run_id,
                    outcome,
                    (exc.current or {}).get("status", "ended"),
                    exc.message,
                )
                return False
            except (RetryableError, ConnectionError, OSError) as exc:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self._log_unrecorded(outcome, f"{attempt} attempt(s) over {budget:.0f}s, last error: {exc}")
                    return False
                log.warning(
                    "run %s: recording %s failed (%s); retrying in %.1fs", self.run_id, status.value, exc, delay
                )
                time.sleep(min(delay, remaining))
                delay = min(delay * 2, 10.0)
                continue
            except Exception as exc:  # not found, access denied, missing table...
                self._log_unrecorded(outcome, f"{type(exc).__name__}: {exc}")
                return False
            ended_at = end.end_time if stored is None else stored.end_time
            started = self._started_at if stored is None else stored.start_time
            took = (ended_at - started).total_seconds() if ended_at is not None and started is not None else None
            log.info(
                "run %s of pipeline %s: %s at %s%s",
                self.run_id,
                self.pipeline_id,
                status.value if stored is None else stored.status.value,
                self._when(ended_at),
                f" after {took:.1f}s" if took is not None else "",
            )
            return True

    def _log_unrecorded(self, outcome: str, why: str) -> None:
        log.error(
            "run %s of pipeline %s: could NOT record the end in DynamoDB at %s; the job's real outcome is %s. "
            "Cause: %s",
            self.run_id,
            self.pipeline_id,
            self._when(),
            outcome,
            why,
        )

    # -- heartbeat thread ----------------------------------------------------------------------
    def _heartbeat_loop(self) -> None:
        while not self._stop.wait(self.heartbeat_interval):
            if self._superseded:  # a newer attempt owns the run: stop quietly
                return
            try:
                self._heartbeat()
            except AttemptSupersededError as exc:
                self._note_superseded(exc)
                return
            except ConflictError as exc:
                status = (exc.current or {}).get("status")
                log.info("run %s: already ended (%s); heartbeat stops", self.run_id, status)
                return
            except ItemNotFoundError:
                log.warning("run %s: the run log disappeared; heartbeat stops", self.run_id)
                return
            except Exception as exc:
                log.warning(
                    "run %s: heartbeat failed at %s, retrying next interval: %s", self.run_id, self._when(), exc
                )


def _ensure_visible_logging() -> None:
    """In a bare spark-submit driver nothing configures logging: show our INFO lines on stderr."""
    if logging.getLogger().handlers or log.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s pipeline-registry: %(message)s"))
    log.addHandler(handler)
    if log.level == logging.NOTSET:
        log.setLevel(logging.INFO)

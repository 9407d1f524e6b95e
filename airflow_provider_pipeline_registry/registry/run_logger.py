"""``PipelineRunLogger``: a Spark driver records its own run (RUNNING, heartbeats, metrics, end).

Runs where only boto3 and pydantic are installed besides pyspark: it never imports Airflow or
pyspark (the Spark session is duck-typed). Typical use inside a job launched by
``SparkSubmitOperator(env_vars={**<XCom run_logger_env>, **spark_task_env()})``::

    with PipelineRunLogger.from_env() as run:
        run.attach_spark(spark)
        df = spark.read.parquet(src)
        run.records_read(df.count())

Guarantees: a DynamoDB fault never turns a successful job into a failed one nor hides the job's
own exception (the end write is retried, then logged). The logger joins a run only as its own
attempt (see ``PipelineRunLogsWriteApi.join``) and every write it makes is fenced on that
attempt, so a zombie driver never changes a newer attempt. SIGTERM/SIGINT end the run CANCELLED
and the process exits within :data:`CANCEL_EXIT_SECONDS` of the signal, whatever DynamoDB does:
the signal handler only records the request (plain assignments: no I/O, no lock, never nested);
the main thread raises :class:`PipelineRunCancelled` at once, or when it leaves the few sections
that hold the metrics lock, and ``__exit__`` waits for the end write (made by a helper thread)
until that deadline at most.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import select
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timedelta
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, Any, TypeVar, cast

from .config import DynamoDBConfig
from .errors import (
    AttemptSupersededError,
    ConflictError,
    ItemNotFoundError,
    RegistryError,
    RetryableError,
    ValidationError,
    WatermarkBackwardsError,
    WatermarkConflictError,
)
from .run_env import (
    ATTEMPT_ID_ENV,
    DEFAULT_LEASE_SECONDS,
    HEARTBEAT_SECONDS_ENV,
    LEASE_SECONDS_ENV,
    PIPELINE_ID_ENV,
    RUN_ID_ENV,
    env_value,
    read_task_id,
    read_try_number,
)
from .text_limits import truncate_text
from .timezones import format_for_display, utc_now

if TYPE_CHECKING:
    from .facade import Registry
    from .run_logs import PipelineRunLog, PipelineRunLogsWriteApi, RunStatus

log = logging.getLogger(__name__)

#: optional: total seconds the end write is retried for (default 60)
END_RETRY_SECONDS_ENV = "PIPELINE_REGISTRY_END_RETRY_SECONDS"
#: set by spark-submit's PythonRunner in the driver's environment: the parent is the spark-submit JVM
_SPARK_SUBMIT_MARKER_ENV = "PYSPARK_GATEWAY_PORT"
_AIRFLOW_IDENTITY_ENV = {
    "dag_id": "AIRFLOW_CTX_DAG_ID",
    "dag_run_id": "AIRFLOW_CTX_DAG_RUN_ID",
}
_MAX_METRIC_NAME = 255
#: ``error_type`` is a class name on one line, at most 255 (the run item's field limit)
_MAX_ERROR_TYPE = 255
SIGTERM_EXIT_CODE = 128 + signal.SIGTERM
#: the one bound of the exit after SIGTERM/SIGINT (or the death of the spark-submit parent): the
#: process leaves the ``with`` (end write, thread joins and the previous handler's call included)
#: at most this many seconds after the signal, whatever DynamoDB does (stalled, throttling)
CANCEL_EXIT_SECONDS = 15.0
#: of that bound, kept for what follows the ``with``: the previous handler and the interpreter's
#: own exit (0.3 s on an idle machine, 2 s under two busy processes per core); the logger stops
#: waiting for DynamoDB this long before the bound
_EXIT_RESERVE_SECONDS = 5.0
_HANDLED_SIGNALS = (signal.SIGTERM, signal.SIGINT)
#: how often a main thread waiting for a helper thread re-reads the exit deadline
_WAIT_SLICE_SECONDS = 0.05
_HandlerType = Callable[[int, FrameType | None], Any] | int | None
_R = TypeVar("_R")


class PipelineRunCancelled(SystemExit):
    """Raised in the job's main thread when SIGTERM/SIGINT (or the death of the spark-submit
    parent) cancels the run. A ``SystemExit`` (exit code 128 + signal), so ``except Exception``
    in the job does not swallow it; the logger records CANCELLED when it leaves the ``with``."""

    def __init__(self, signum: int, reason: str) -> None:
        super().__init__(128 + signum)
        self.signum = signum
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


def _exception_message(exc: BaseException) -> str:
    """``str(exc)``, or a stand-in when ``str()`` itself fails: a ``Py4JJavaError`` asks the JVM for
    its message, and a driver whose spark-submit JVM is gone gets ``ConnectionRefusedError`` there."""
    try:
        return str(exc)
    except Exception as failure:
        errmsg = getattr(exc, "errmsg", None)  # py4j keeps the Python side of the message here
        summary = errmsg.strip() if isinstance(errmsg, str) and errmsg.strip() else type(exc).__name__
        return f"{summary} (the full message is unavailable: {type(failure).__name__})"


def _exception_type(exc: BaseException) -> str:
    cls = type(exc)
    name = cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"
    return truncate_text(name, _MAX_ERROR_TYPE, one_line=True)


def _check_metric(name: str, value: int | float) -> None:
    if not isinstance(name, str) or not name.strip() or len(name) > _MAX_METRIC_NAME:
        raise ValidationError(f"metric name must be a 1-{_MAX_METRIC_NAME} character string, got {name!r}", field=name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError(f"metric {name!r} must be an int or float, got {type(value).__name__}", field=name)
    if isinstance(value, float) and not math.isfinite(value):
        raise ValidationError(f"metric {name!r} must be finite, got {value!r}", field=name)


class _ExitDeadlinePassed(Exception):
    """A helper thread's DynamoDB call outlived the exit deadline set by a signal."""


def spark_identity(spark: Any) -> dict[str, str | None]:
    """Application id, name and UI URL of a Spark session (duck-typed; pyspark is never imported).

    Under Spark Connect, where ``sparkContext`` raises, falls back to the session's conf
    (``spark.app.id``, ``spark.app.name``) and its session id.
    """
    identity: dict[str, str | None] = {
        "spark_application_id": None,
        "spark_application_name": None,
        "spark_ui_url": None,
    }
    try:
        context = spark.sparkContext
        identity["spark_application_id"] = _text(context.applicationId)
        identity["spark_application_name"] = _text(context.appName)
        identity["spark_ui_url"] = _text(context.uiWebUrl)
        return identity
    except Exception as exc:  # Spark Connect: JVM attributes are not supported
        log.info("spark.sparkContext is unavailable (%s): recording what the session offers", type(exc).__name__)
    identity["spark_application_id"] = _conf(spark, "spark.app.id")
    identity["spark_application_name"] = _conf(spark, "spark.app.name")
    if identity["spark_application_id"] is None:
        session_id = _text(getattr(spark, "session_id", None))
        if session_id:
            identity["spark_application_id"] = f"spark-connect-session:{session_id}"
    return identity


def _conf(spark: Any, key: str) -> str | None:
    try:
        return _text(spark.conf.get(key, None))
    except Exception:
        return None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


class PipelineRunLogger:
    """Record one pipeline run from inside the Spark driver; use as a context manager.

    :param pipeline_id: the pipeline's id.
    :param run_id: the run's id (``derive_run_id`` under Airflow).
    :param config: where the registry lives (default: ``registry.config`` or ``DynamoDBConfig.from_env()``).
    :param try_number: the try of the task running the job (the Spark task's own ``ti.try_number``).
    :param task_id: the task running the job (recorded as the run's ``task_id``).
    :param attempt_id: the attempt ``StartPipelineRunOperator`` opened (its XCom ``attempt_id``):
        the driver claims only that one (see ``PipelineRunLogsWriteApi.join``).
    :param lease_seconds: a RUNNING attempt whose heartbeat is older than this may be taken over
        (default: 300 s, or 3 heartbeat intervals if longer; must exceed ``heartbeat_interval``).
    :param heartbeat_interval: seconds between heartbeats from a daemon thread.
    :param registry: an existing ``Registry`` (else one is built from ``config``).
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
        config: DynamoDBConfig | None = None,
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
        attempt_id: str | None = None,
        lease_seconds: float | None = None,
    ) -> None:
        if heartbeat_interval <= 0:
            raise ValidationError("heartbeat_interval must be > 0 seconds", field="heartbeat_interval")
        if end_retry_seconds < 0:
            raise ValidationError("end_retry_seconds must be >= 0", field="end_retry_seconds")
        if lease_seconds is None:
            lease_seconds = max(DEFAULT_LEASE_SECONDS, 3 * heartbeat_interval)
        if lease_seconds <= heartbeat_interval:
            raise ValidationError(
                f"lease_seconds ({lease_seconds}) must be longer than heartbeat_interval ({heartbeat_interval})",
                field="lease_seconds",
            )
        if registry is None:
            from .facade import Registry

            registry = Registry(config or DynamoDBConfig.from_env())
        self.registry = registry
        self.config = config or registry.config
        self.pipeline_id = pipeline_id
        self.run_id = run_id
        self.try_number = try_number
        self.heartbeat_interval = float(heartbeat_interval)
        self.end_retry_seconds = float(end_retry_seconds)
        self.lease_seconds = float(lease_seconds)
        self.handle_sigterm = handle_sigterm
        self.watch_parent = (_SPARK_SUBMIT_MARKER_ENV in os.environ) if watch_parent is None else watch_parent
        self._identity = {"dag_id": dag_id, "dag_run_id": dag_run_id, "task_id": task_id}
        self.expected_attempt_id = attempt_id
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
        # signal state: written by the handler with plain assignments (no lock, no I/O)
        self._previous_handlers: dict[int, _HandlerType] = {}
        self._in_handler = False  # the handler's re-entrancy guard
        self._critical = 0  # > 0 while the main thread holds the metrics lock: a signal waits
        self._exit_deadline: float | None = None  # time.monotonic() of the latest exit, set by a signal
        self._cancel_signum: int | None = None
        self._cancel_reason: str | None = None
        self._cancel_raised = False
        self._late_signum: int | None = None
        self._wake_r = -1
        self._wake_w = -1
        self._main_ident = threading.main_thread().ident
        self._parent_pid = os.getppid()
        self._started_at: datetime | None = None
        self.heartbeats_sent = 0
        #: what the run read of its tables' watermarks (set by the join), and what it staged since
        self._watermark_reads: dict[str, dict[str, Any]] = {}
        self._staged: dict[str, str] = {}
        #: set when the SUCCESS end could not commit a watermark (the run is then recorded FAILED)
        self.watermark_conflict: WatermarkConflictError | None = None

    def __repr__(self) -> str:
        return f"PipelineRunLogger(run_id={self.run_id!r}, pipeline_id={self.pipeline_id!r}, phase={self._phase!r})"

    # -- construction from the environment ------------------------------------------------------
    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> PipelineRunLogger:
        """Build from the variables of :func:`run_logger_env` (``DYNAMODB_*``, ``PIPELINE_REGISTRY_*``).

        ``environ`` defaults to ``os.environ`` (it may also be the ``run_logger_env`` XCom dict,
        merged with the Spark task's own ``spark_task_env``); keyword overrides win over the
        environment. The task identity (``PIPELINE_REGISTRY_TRY_NUMBER``/``_TASK_ID``, else
        Airflow's ``AIRFLOW_CTX_*``) is read from ``environ``, then from the process environment.
        """
        env = os.environ if environ is None else environ
        layers: list[Mapping[str, str]] = [env] if environ is None else [env, os.environ]

        def first(reader: Callable[[Mapping[str, str]], Any]) -> Any:
            for layer in layers:
                value = reader(layer)
                if value is not None:
                    return value
            return None

        values: dict[str, Any] = {
            "pipeline_id": env_value(env, PIPELINE_ID_ENV),
            "run_id": env_value(env, RUN_ID_ENV),
            "try_number": first(read_try_number),
            "task_id": first(read_task_id),
            "attempt_id": env_value(env, ATTEMPT_ID_ENV),
        }
        for name, var in _AIRFLOW_IDENTITY_ENV.items():
            values[name] = first(lambda layer, var=var: env_value(layer, var))  # type: ignore[misc]
        for key, var in (
            ("heartbeat_interval", HEARTBEAT_SECONDS_ENV),
            ("end_retry_seconds", END_RETRY_SECONDS_ENV),
            ("lease_seconds", LEASE_SECONDS_ENV),
        ):
            raw = env_value(env, var)
            if raw:
                try:
                    values[key] = float(raw)
                except ValueError:
                    raise ValidationError(f"{var} must be a number of seconds, got {raw!r}", field=var) from None
        values.update({k: v for k, v in overrides.items() if v is not None})
        for required, var in (("pipeline_id", PIPELINE_ID_ENV), ("run_id", RUN_ID_ENV)):
            if not values.get(required):
                raise ValidationError(
                    f"{var} is not set: pass {required}=... or launch the job with the run_logger_env "
                    "variables (LoadPipelineConfigOperator XCom 'run_logger_env', or run_logger_env(...))",
                    field=required,
                )
        if "config" not in values and "registry" not in values:
            values["config"] = DynamoDBConfig.from_env(env)
        return cls(**values)

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
            raise ValidationError(
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
        from airflow_provider_pipeline_registry.registry.watermarks.values import is_backwards, normalize_watermark

        read = self._read_of(table_id)
        kind = read.get("type") or "string"
        text = normalize_watermark(value, kind, table_id=table_id)
        low = read.get("from")
        if is_backwards(low, text, kind):
            raise WatermarkBackwardsError(
                f"watermark of table {table_id!r} cannot go back from {low!r} to {text!r} ({kind}); "
                "only rewind_watermark moves it back",
                field=f"watermarks.{table_id}",
            )
        with self._locked():
            self._staged[table_id] = text
        if self._superseded:
            return text
        try:
            self._api.stage_watermark(self.run_id, self.pipeline_id, table_id, text, attempt_id=self.attempt_id)
        except AttemptSupersededError as exc:
            self._note_superseded(exc)
        except (ValidationError, WatermarkConflictError):
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
            raise ValidationError(
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
        return format_for_display(value or utc_now(), self.config.user_timezone)

    # -- lifecycle -----------------------------------------------------------------------------
    def __enter__(self) -> PipelineRunLogger:
        if self._phase != "new":
            raise RuntimeError("a PipelineRunLogger can be entered only once")
        _ensure_visible_logging()
        from .run_logs import RunStart
        from .run_logs.models import new_attempt_id

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
                    expected_attempt_id=self.expected_attempt_id,
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
        from .run_logs import RunStatus

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
            status, error_type, message = self._outcome(exc)
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

    # -- bounded waits: the main thread never blocks past the exit deadline ---------------------
    def _set_exit_deadline(self) -> None:
        """Start the exit bound now (plain assignment; also called by the signal handler)."""
        if self._exit_deadline is None:
            self._exit_deadline = time.monotonic() + CANCEL_EXIT_SECONDS - _EXIT_RESERVE_SECONDS

    def _wait_for(self, thread: threading.Thread, *, default_deadline: float | None = None) -> bool:
        """Join ``thread`` until it ends (True) or the exit deadline passes (False).

        The deadline is re-read every slice: a signal arriving during the wait bounds it. Without
        a signal, ``default_deadline`` (None: none) applies."""
        while thread.is_alive():
            deadline = self._exit_deadline if self._exit_deadline is not None else default_deadline
            remaining = _WAIT_SLICE_SECONDS if deadline is None else deadline - time.monotonic()
            if remaining <= 0:
                return False
            thread.join(min(remaining, _WAIT_SLICE_SECONDS))
        return True

    def _call_bounded(self, name: str, call: Callable[[], _R]) -> _R:
        """``call()`` made by a daemon thread, waited for until the exit deadline (then
        :class:`_ExitDeadlinePassed`; the thread is abandoned and dies with the process)."""
        box: dict[str, Any] = {}

        def target() -> None:
            try:
                box["value"] = call()
            except BaseException as error:
                box["error"] = error

        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        if not self._wait_for(thread):
            raise _ExitDeadlinePassed(name)
        if "error" in box:
            raise box["error"]
        return cast("_R", box["value"])

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
        timeout = max(5.0, self.config.read_timeout + self.config.connect_timeout)
        for thread in (self._watcher, self._thread):
            if thread is not None and thread is not threading.current_thread():
                self._wait_for(thread, default_deadline=time.monotonic() + timeout)

    def _parent_gone(self, exc: BaseException) -> bool:
        """Under spark-submit, a job that lost its JVM (killed spark-submit) was cancelled, not failed.

        The gateway error can reach Python a while before the kernel re-parents the driver (the
        JVM runs its shutdown hooks first), so wait for it when the error looks like a lost JVM.
        """
        if not self.watch_parent:
            return False
        deadline = time.monotonic() + (_PARENT_EXIT_WAIT_SECONDS if _looks_like_lost_jvm(exc) else 0.0)
        while True:
            if os.getppid() != self._parent_pid:
                return True
            if time.monotonic() >= min(deadline, self._exit_deadline or math.inf):
                return False
            time.sleep(0.05)

    @staticmethod
    def _outcome(exc: BaseException | None) -> tuple[RunStatus, str | None, str | None]:
        from .run_logs import RunStatus

        if exc is None or (isinstance(exc, SystemExit) and exc.code in (None, 0)):
            return RunStatus.SUCCESS, None, None
        if isinstance(exc, PipelineRunCancelled):
            return RunStatus.CANCELLED, "Cancelled", exc.reason
        if isinstance(exc, KeyboardInterrupt):
            return RunStatus.CANCELLED, "KeyboardInterrupt", "interrupted"
        return RunStatus.FAILED, _exception_type(exc), truncate_text(_exception_message(exc))

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
        from .run_logs import RunFinish

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

    # -- watcher thread: the death of the parent process ----------------------------------------
    def _watch_loop(self) -> None:
        """Wakes on the self-pipe (written when the logger stops) or every tick. Never writes to
        DynamoDB while the main thread may, and never signals the main thread while a
        cancellation is pending: it routes the parent's death through ONE SIGTERM, handled like
        a real one, then stops."""
        tick = min(self.heartbeat_interval, 1.0) if self.watch_parent else 1.0
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([self._wake_r], [], [], tick) if self._wake_r >= 0 else ([], [], [])
                if ready:
                    os.read(self._wake_r, 512)
            except (OSError, ValueError):  # the pipe was closed: the logger is ending
                return
            if self._stop.is_set() or self._phase != "running":
                return
            if self.watch_parent and self._cancel_signum is None and os.getppid() != self._parent_pid:
                log.warning(
                    "run %s: the parent process (pid %d, e.g. spark-submit) is gone at %s: cancelling the run",
                    self.run_id,
                    self._parent_pid,
                    self._when(),
                )
                if not self._handlers_installed:
                    self._parent_died_without_handler()
                    return
                self._cancel_reason = f"parent process {self._parent_pid} exited"
                self._set_exit_deadline()
                if self._cancel_signum is None:  # no signal came meanwhile: deliver one, once
                    signal.pthread_kill(cast(int, self._main_ident), signal.SIGTERM)
                return

    def _parent_died_without_handler(self) -> None:
        """No signal handler to route through (handle_sigterm=False, or entered off the main
        thread): write the end from here (reentrant, no lock across I/O, bounded by the exit
        deadline), then SIGTERM ourselves."""
        from .run_logs import RunStatus

        self._set_exit_deadline()
        self._write_end(
            RunStatus.CANCELLED,
            "Cancelled",
            f"parent process {self._parent_pid} exited",
            budget=min(self.end_retry_seconds, CANCEL_EXIT_SECONDS),
        )
        os.kill(os.getpid(), signal.SIGTERM)

    # -- signals -------------------------------------------------------------------------------
    @property
    def _handlers_installed(self) -> bool:
        return bool(self._previous_handlers)

    def _install_signal_handlers(self) -> None:
        if not self.handle_sigterm or threading.current_thread() is not threading.main_thread():
            return
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        for signum in _HANDLED_SIGNALS:
            previous = signal.getsignal(signum)
            if previous == signal.SIG_IGN:
                continue
            self._previous_handlers[signum] = previous
            signal.signal(signum, self._on_signal)

    def _restore_signal_handlers(self) -> dict[int, _HandlerType]:
        previous, self._previous_handlers = self._previous_handlers, {}
        for signum, handler in previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
        return previous

    def _close_wake_pipe(self) -> None:
        for name in ("_wake_r", "_wake_w"):
            fd = getattr(self, name)
            if fd >= 0:
                setattr(self, name, -1)
                with contextlib.suppress(OSError):
                    os.close(fd)

    def _wake(self) -> None:
        """Wake the watcher thread (never called from the signal handler)."""
        fd = self._wake_w
        if fd >= 0:
            with contextlib.suppress(OSError):  # full (a wake-up is pending anyway) or closed
                os.write(fd, b"\0")

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        """The SIGTERM/SIGINT handler: plain assignments only (no I/O, no lock, no logging).

        It starts the exit deadline, records the request and raises PipelineRunCancelled unless
        the main thread holds the metrics lock (``_locked``, which raises it on release) or the
        logger is starting or ending (``__enter__``/``__exit__`` act on it). A signal arriving
        while the handler runs (a burst) finds the guard set and returns at once.
        """
        if self._in_handler:
            return
        self._in_handler = True
        try:
            self._set_exit_deadline()
            if self._phase in ("ending", "ended"):
                if self._late_signum is None:
                    self._late_signum = signum  # the end is being written: let it finish, then exit
                return
            if self._cancel_signum is None:
                self._cancel_reason = self._cancel_reason or f"{signal.Signals(signum).name} received"
                self._cancel_signum = signum
            if self._cancel_raised or self._phase != "running" or self._critical:
                return
            self._cancel_raised = True
            raise PipelineRunCancelled(self._cancel_signum, self._cancel_reason or "cancelled")
        finally:
            self._in_handler = False

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """``with self._lock``, during which a signal in the main thread does not raise: the
        pending cancellation is raised when the lock is released (never while it is held)."""
        main = threading.get_ident() == self._main_ident
        if main:
            self._critical += 1
        try:
            with self._lock:
                yield
        finally:
            if main:
                self._critical -= 1
                if not self._critical:
                    self._raise_pending_cancel()

    def _raise_pending_cancel(self) -> None:
        """At a safe point of the main thread (no logger lock held): raise a pending cancellation."""
        if (
            self._cancel_signum is not None
            and not self._cancel_raised
            and self._phase == "running"
            and threading.get_ident() == self._main_ident
        ):
            self._cancel_raised = True
            raise PipelineRunCancelled(self._cancel_signum, self._cancel_reason or "cancelled")


#: how long a driver that lost its JVM waits for the JVM to exit (its shutdown hooks run first)
_PARENT_EXIT_WAIT_SECONDS = 15.0
_LOST_JVM_MARKERS = (
    "SparkContext was shut down",
    "stopped SparkContext",
    "SparkContext has been shutdown",
    "Cannot call methods on a stopped SparkContext",
    "py4j.Gateway",
    "Answer from Java side is empty",
    "Error while receiving",
    "Error while sending",
    "Connection refused",
    "Broken pipe",
)


def _looks_like_lost_jvm(exc: BaseException) -> bool:
    """An error that a dying spark-submit JVM gives the Python driver (py4j network errors, a
    SparkContext stopped by the JVM's shutdown hook)."""
    seen: BaseException | None = exc
    for _ in range(10):
        if seen is None:
            return False
        if isinstance(seen, ConnectionError | EOFError) or type(seen).__name__ in ("Py4JNetworkError", "Py4JError"):
            return True
        if type(seen).__module__.startswith(("py4j", "pyspark")):
            try:
                text = str(seen)  # a Py4JJavaError asks the JVM for its message
            except Exception:  # ... and the JVM did not answer
                return True
            if any(marker in text for marker in _LOST_JVM_MARKERS):
                return True
        seen = seen.__cause__ or seen.__context__
    return False


def _ensure_visible_logging() -> None:
    """In a bare spark-submit driver nothing configures logging: show our INFO lines on stderr."""
    if logging.getLogger().handlers or log.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s pipeline-registry: %(message)s"))
    log.addHandler(handler)
    if log.level == logging.NOTSET:
        log.setLevel(logging.INFO)

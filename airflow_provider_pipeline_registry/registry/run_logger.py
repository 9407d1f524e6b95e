"""``PipelineRunLogger``: a Spark driver records its own run (RUNNING, heartbeats, metrics, end).

Runs where only boto3 and pydantic are installed besides pyspark: it never imports Airflow or
pyspark (the Spark session is duck-typed). Typical use inside a job launched by
``SparkSubmitOperator(env_vars=<XCom run_logger_env>)``::

    with PipelineRunLogger.from_env() as run:
        run.attach_spark(spark)
        df = spark.read.parquet(src)
        run.records_read(df.count())

Guarantees: a DynamoDB fault never turns a successful job into a failed one nor hides the job's
own exception (the end write is retried, then logged); SIGTERM records CANCELLED before the
process exits.
"""

from __future__ import annotations

import logging
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, Any

from .config import DynamoDBConfig
from .errors import ConflictError, ItemNotFoundError, RegistryError, RetryableError, ValidationError
from .run_env import HEARTBEAT_SECONDS_ENV, PIPELINE_ID_ENV, RUN_ID_ENV, read_try_number
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
    "task_id": "AIRFLOW_CTX_TASK_ID",
}
MAX_ERROR_MESSAGE_CHARS = 4000
_MAX_METRIC_NAME = 255
SIGTERM_EXIT_CODE = 128 + signal.SIGTERM
_HandlerType = Callable[[int, FrameType | None], Any] | int | None


def _bounded(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = limit - 40
    return text[:cut] + f"... [truncated {len(text) - cut} chars]"


def _exception_type(exc: BaseException) -> str:
    cls = type(exc)
    name = cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"
    return _bounded(name, 255)


def _check_metric(name: str, value: int | float) -> None:
    if not isinstance(name, str) or not name.strip() or len(name) > _MAX_METRIC_NAME:
        raise ValidationError(f"metric name must be a 1-{_MAX_METRIC_NAME} character string, got {name!r}", field=name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError(f"metric {name!r} must be an int or float, got {type(value).__name__}", field=name)
    if isinstance(value, float) and not math.isfinite(value):
        raise ValidationError(f"metric {name!r} must be finite, got {value!r}", field=name)


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
    :param try_number: the attempt; a RUNNING entry already opened for the run is adopted whatever its try.
    :param heartbeat_interval: seconds between heartbeats from a daemon thread.
    :param registry: an existing ``Registry`` (else one is built from ``config``).
    :param spark: a Spark session to attach on enter (same as :meth:`attach_spark`).
    :param end_retry_seconds: total time budget for retrying the end write.
    :param handle_sigterm: install a SIGTERM handler that records CANCELLED (main thread only).
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
    ) -> None:
        if heartbeat_interval <= 0:
            raise ValidationError("heartbeat_interval must be > 0 seconds", field="heartbeat_interval")
        if end_retry_seconds < 0:
            raise ValidationError("end_retry_seconds must be >= 0", field="end_retry_seconds")
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
        self.handle_sigterm = handle_sigterm
        self.watch_parent = (_SPARK_SUBMIT_MARKER_ENV in os.environ) if watch_parent is None else watch_parent
        self._identity = {"dag_id": dag_id, "dag_run_id": dag_run_id, "task_id": task_id}
        self._spark_to_attach = spark

        self._metrics: dict[str, int | float] = {}
        self._spark: dict[str, str | None] = {}
        self._lock = threading.Lock()  # guards _metrics and _spark
        self._end_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._phase = "new"  # new -> running -> ending -> ended
        self._ended_status: RunStatus | None = None
        self._previous_handler: _HandlerType = None
        self._handler_installed = False
        self._sigterm_pending = False
        self._parent_pid = os.getppid()
        self._started_at: datetime | None = None
        self.heartbeats_sent = 0

    def __repr__(self) -> str:
        return f"PipelineRunLogger(run_id={self.run_id!r}, pipeline_id={self.pipeline_id!r}, phase={self._phase!r})"

    # -- construction from the environment ------------------------------------------------------
    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> PipelineRunLogger:
        """Build from the variables of :func:`run_logger_env` (``DYNAMODB_*``, ``PIPELINE_REGISTRY_*``).

        ``environ`` defaults to ``os.environ`` (it may also be the ``run_logger_env`` XCom dict);
        keyword overrides win over the environment.
        """
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {
            "pipeline_id": env.get(PIPELINE_ID_ENV) or None,
            "run_id": env.get(RUN_ID_ENV) or None,
            "try_number": read_try_number(env),
        }
        for name, var in _AIRFLOW_IDENTITY_ENV.items():
            values[name] = env.get(var) or None
        for key, var in (("heartbeat_interval", HEARTBEAT_SECONDS_ENV), ("end_retry_seconds", END_RETRY_SECONDS_ENV)):
            raw = env.get(var)
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
        with self._lock:
            return dict(self._metrics)

    @property
    def status(self) -> RunStatus | None:
        """The end status recorded (or attempted) by this logger, None while running."""
        return self._ended_status

    def add_metric(self, name: str, value: int | float) -> None:
        """Set metric ``name`` to ``value`` (written with the next heartbeat/flush and with the end)."""
        _check_metric(name, value)
        with self._lock:
            self._metrics[name] = value

    def increment(self, name: str, by: int | float = 1) -> int | float:
        """Add ``by`` to metric ``name`` (starting at 0) and return the new value."""
        _check_metric(name, by)
        with self._lock:
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

    def attach_spark(self, spark: Any) -> dict[str, str | None]:
        """Record the session's application id, name and UI URL (and flush them when running)."""
        identity = spark_identity(spark)
        with self._lock:
            self._spark = {k: v for k, v in identity.items() if v is not None}
        log.info(
            "run %s: Spark application %s (%s)",
            self.run_id,
            identity["spark_application_id"] or "?",
            identity["spark_application_name"] or "?",
        )
        if self._phase == "running":
            self.flush()
        return identity

    def flush(self) -> PipelineRunLog | None:
        """Write the metrics and Spark identity now (a heartbeat). Returns the stored run, or None
        when the write failed (logged; the job carries on)."""
        try:
            return self._heartbeat()
        except ConflictError as exc:
            log.warning("run %s: cannot flush, %s", self.run_id, exc.message)
        except RegistryError as exc:
            log.warning("run %s: flush failed, will be retried with the next heartbeat: %s", self.run_id, exc)
        return None

    def _heartbeat(self) -> PipelineRunLog:
        with self._lock:
            metrics, spark = dict(self._metrics), dict(self._spark)
        stored = self._api.heartbeat(self.run_id, self.pipeline_id, metrics=metrics, spark=spark)
        self.heartbeats_sent += 1
        return stored

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

        start = RunStart(
            run_id=self.run_id,
            pipeline_id=self.pipeline_id,
            try_number=self.try_number or 1,
            **{k: v for k, v in self._identity.items() if v is not None},
        )
        stored = self._api.start(start, adopt_running=True)
        self.try_number = stored.try_number
        self._started_at = stored.start_time
        self._phase = "running"
        log.info(
            "run %s of pipeline %s: RUNNING (try %d) since %s",
            self.run_id,
            self.pipeline_id,
            stored.try_number,
            self._when(stored.start_time),
        )
        if self._spark_to_attach is not None:
            self.attach_spark(self._spark_to_attach)
        self._install_sigterm_handler()
        self._thread = threading.Thread(target=self._heartbeat_loop, name="pipeline-registry-heartbeat", daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Never returns True: the job's own exception always propagates unchanged.
        from .run_logs import RunStatus

        self._phase = "ending"
        self._stop_heartbeat()
        try:
            if self._ended_status is None:
                status, error_type, message = self._outcome(exc)
                if exc is not None and self._parent_gone(exc):
                    message = f"parent process {self._parent_pid} exited; then the job raised {error_type}: {message}"
                    status, error_type = RunStatus.CANCELLED, "Cancelled"
                    message = _bounded(message, MAX_ERROR_MESSAGE_CHARS)
                self._record_end(status, error_type, message, budget=self.end_retry_seconds)
        except Exception:  # the logger must never replace the job's outcome
            log.exception("run %s: unexpected error while recording the end", self.run_id)
        finally:
            self._phase = "ended"
            self._restore_sigterm_handler()
        if self._sigterm_pending and exc is None:
            log.warning("run %s: SIGTERM arrived while recording the end; exiting now", self.run_id)
            raise SystemExit(SIGTERM_EXIT_CODE)

    def _parent_gone(self, exc: BaseException) -> bool:
        """Under spark-submit, a job that lost its JVM (killed spark-submit) was cancelled, not failed.

        The gateway error can reach Python a moment before the kernel re-parents the driver, so
        wait briefly when the error looks like a lost connection.
        """
        if not self.watch_parent:
            return False
        lost_connection = False
        seen: BaseException | None = exc
        for _ in range(10):
            if seen is None or lost_connection:
                break
            module = type(seen).__module__
            lost_connection = module.startswith(("py4j", "pyspark")) or isinstance(seen, ConnectionError | EOFError)
            seen = seen.__cause__ or seen.__context__
        deadline = time.monotonic() + (2.0 if lost_connection else 0.0)
        while True:
            if os.getppid() != self._parent_pid:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)

    @staticmethod
    def _outcome(exc: BaseException | None) -> tuple[RunStatus, str | None, str | None]:
        from .run_logs import RunStatus

        if exc is None or (isinstance(exc, SystemExit) and exc.code in (None, 0)):
            return RunStatus.SUCCESS, None, None
        if isinstance(exc, KeyboardInterrupt):
            return RunStatus.CANCELLED, "KeyboardInterrupt", "interrupted"
        return RunStatus.FAILED, _exception_type(exc), _bounded(str(exc), MAX_ERROR_MESSAGE_CHARS)

    def _record_end(self, status: RunStatus, error_type: str | None, message: str | None, *, budget: float) -> bool:
        """Write the end, retrying transient faults with backoff for ``budget`` seconds. Never raises
        a registry error: a failure is logged with the run id and the job's real outcome."""
        from .run_logs import RunFinish

        with self._end_lock:
            if self._ended_status is not None:
                return True
            self._ended_status = status
            outcome = status.value + (f" ({error_type}: {message})" if error_type else "")
            with self._lock:
                metrics = dict(self._metrics)
            end = RunFinish(
                run_id=self.run_id,
                pipeline_id=self.pipeline_id,
                status=status,
                try_number=self.try_number,
                metrics=metrics,
                error_type=error_type,
                error_message=message,
            )
            deadline = time.monotonic() + budget
            delay, attempt = 0.2, 0
            while True:
                attempt += 1
                try:
                    if self._spark and self.heartbeats_sent == 0:
                        self._heartbeat()  # the Spark identity travels only with heartbeats
                    stored = self._api.finish(end)
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
                log.info(
                    "run %s of pipeline %s: %s at %s%s",
                    self.run_id,
                    self.pipeline_id,
                    stored.status.value,
                    self._when(stored.end_time),
                    f" after {stored.duration_seconds:.1f}s" if stored.duration_seconds is not None else "",
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
        tick = min(self.heartbeat_interval, 1.0) if self.watch_parent else self.heartbeat_interval
        next_beat = time.monotonic() + self.heartbeat_interval
        while not self._stop.wait(tick):
            if self.watch_parent and os.getppid() != self._parent_pid:
                self._parent_died()
                return
            if time.monotonic() < next_beat:
                continue
            next_beat = time.monotonic() + self.heartbeat_interval
            try:
                self._heartbeat()
            except ConflictError as exc:
                log.info("run %s: already ended (%s); heartbeat stops", self.run_id, (exc.current or {}).get("status"))
                return
            except ItemNotFoundError:
                log.warning("run %s: the run log disappeared; heartbeat stops", self.run_id)
                return
            except Exception as exc:
                log.warning(
                    "run %s: heartbeat failed at %s, retrying next interval: %s", self.run_id, self._when(), exc
                )

    def _stop_heartbeat(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=max(5.0, self.config.read_timeout + self.config.connect_timeout))

    def _parent_died(self) -> None:
        from .run_logs import RunStatus

        log.warning(
            "run %s: the parent process (pid %d, e.g. spark-submit) is gone at %s: recording CANCELLED",
            self.run_id,
            self._parent_pid,
            self._when(),
        )
        self._record_end(
            RunStatus.CANCELLED,
            "Cancelled",
            f"parent process {self._parent_pid} exited",
            budget=min(self.end_retry_seconds, 10.0),
        )
        os.kill(os.getpid(), signal.SIGTERM)

    # -- SIGTERM -------------------------------------------------------------------------------
    def _install_sigterm_handler(self) -> None:
        if not self.handle_sigterm or threading.current_thread() is not threading.main_thread():
            return
        previous = signal.getsignal(signal.SIGTERM)
        if previous == signal.SIG_IGN:
            return
        self._previous_handler = previous
        signal.signal(signal.SIGTERM, self._on_sigterm)
        self._handler_installed = True

    def _restore_sigterm_handler(self) -> None:
        if not self._handler_installed:
            return
        self._handler_installed = False
        previous = self._previous_handler
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)

    def _on_sigterm(self, signum: int, frame: FrameType | None) -> None:
        from .run_logs import RunStatus

        if self._phase == "ending":
            self._sigterm_pending = True  # let the end being written finish, then exit
            return
        log.warning("run %s: SIGTERM received at %s: recording CANCELLED", self.run_id, self._when())
        self._stop.set()
        self._record_end(RunStatus.CANCELLED, "Cancelled", "SIGTERM received", budget=min(self.end_retry_seconds, 10.0))
        previous = self._previous_handler
        self._restore_sigterm_handler()
        if callable(previous):
            previous(signum, frame)  # e.g. Airflow's handler, which raises on its own
        raise SystemExit(SIGTERM_EXIT_CODE)


def _ensure_visible_logging() -> None:
    """In a bare spark-submit driver nothing configures logging: show our INFO lines on stderr."""
    if logging.getLogger().handlers or log.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s pipeline-registry: %(message)s"))
    log.addHandler(handler)
    if log.level == logging.NOTSET:
        log.setLevel(logging.INFO)

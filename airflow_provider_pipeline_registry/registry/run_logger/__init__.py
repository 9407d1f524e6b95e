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

One module per job: ``logger`` (the context manager: start, heartbeats, metrics, end),
``cancellation`` (signals, the parent's death, the exit deadline), ``spark`` (the session's
identity, a lost spark-submit JVM), ``environment`` (the launch environment read by ``from_env``)
and ``outcome`` (the status and error an exception ends the run with). Import from here. All of
them log to this package's logger, ``airflow_provider_pipeline_registry.registry.run_logger``.
"""

from __future__ import annotations

from ..run_env import DEFAULT_LEASE_SECONDS
from .cancellation import CANCEL_EXIT_SECONDS, SIGTERM_EXIT_CODE, PipelineRunCancelled
from .environment import END_RETRY_SECONDS_ENV
from .logger import PipelineRunLogger
from .spark import _looks_like_lost_jvm as _looks_like_lost_jvm  # for the tests that import it from here
from .spark import spark_identity

__all__ = [
    "CANCEL_EXIT_SECONDS",
    "DEFAULT_LEASE_SECONDS",
    "END_RETRY_SECONDS_ENV",
    "SIGTERM_EXIT_CODE",
    "PipelineRunCancelled",
    "PipelineRunLogger",
    "spark_identity",
]

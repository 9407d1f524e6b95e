"""The Spark side of a run, duck-typed (pyspark is never imported): a session's identity
(application id, name and UI URL, with the Spark Connect fallback), whether the driver was
launched by spark-submit, and the errors a dying spark-submit JVM gives the Python driver."""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__.rpartition(".")[0])  # the package's logger (its name as before the split)
#: set by spark-submit's PythonRunner in the driver's environment: the parent is the spark-submit JVM
_SPARK_SUBMIT_MARKER_ENV = "PYSPARK_GATEWAY_PORT"


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

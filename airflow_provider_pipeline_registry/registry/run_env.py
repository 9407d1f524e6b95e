"""The environment contract between Airflow and a Spark job that records its own run.

``LoadPipelineConfigOperator`` (XCom ``run_logger_env``) and :func:`run_logger_env` produce these
variables; ``PipelineRunLogger.from_env()`` reads them. No credentials are ever put here: the
Spark driver gets them from its own credential chain.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

from .config import DynamoDBConfig

PIPELINE_ID_ENV = "PIPELINE_REGISTRY_PIPELINE_ID"
RUN_ID_ENV = "PIPELINE_REGISTRY_RUN_ID"
TRY_NUMBER_ENV = "PIPELINE_REGISTRY_TRY_NUMBER"
HEARTBEAT_SECONDS_ENV = "PIPELINE_REGISTRY_HEARTBEAT_SECONDS"
#: the id of the task running the job (the Spark task's own; rendered in that task's env_vars)
TASK_ID_ENV = "PIPELINE_REGISTRY_TASK_ID"
#: the attempt StartPipelineRunOperator opened (XCom ``attempt_id``), the logger's ``opened_attempt_id``
ATTEMPT_ID_ENV = "PIPELINE_REGISTRY_ATTEMPT_ID"
#: seconds without a heartbeat after which another driver may take a RUNNING attempt over
LEASE_SECONDS_ENV = "PIPELINE_REGISTRY_LEASE_SECONDS"
#: the pipeline's ``parameters`` as JSON, rendered by the Spark task (``dags.spark_task``): read them
#: in the driver with :func:`job_parameters`
PARAMETERS_ENV = "PIPELINE_REGISTRY_PARAMETERS"
#: the one home of the default lease: a RUNNING attempt without a heartbeat for this long may be
#: taken over (the run logger's and ``start_run``'s default; the UI shows such a run as stale)
DEFAULT_LEASE_SECONDS = 300.0
#: ``{table_id: committed watermark or null}`` (JSON) of the active source tables, as the load read
#: them: the low bounds of a job that reads them without the run logger (:func:`read_watermarks`)
WATERMARKS_ENV = "PIPELINE_REGISTRY_WATERMARKS"
#: exported by Airflow's task runner into the environment a spark-submit inherits (client mode only)
AIRFLOW_TRY_NUMBER_ENV = "AIRFLOW_CTX_TRY_NUMBER"
AIRFLOW_TASK_ID_ENV = "AIRFLOW_CTX_TASK_ID"

_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:@/+=-]*$")
_MAX_ID = 255


def run_logger_env(
    config: DynamoDBConfig,
    *,
    pipeline_id: str,
    run_id: str,
    try_number: int | None = None,
    heartbeat_seconds: float | None = None,
    watermarks: Mapping[str, str | None] | None = None,
) -> dict[str, str]:
    """Environment variables that let ``PipelineRunLogger.from_env()`` record this run; with
    ``watermarks``, the committed watermark of each source table as well (``WATERMARKS_ENV``)."""
    env = config.to_env()
    env[PIPELINE_ID_ENV] = pipeline_id
    env[RUN_ID_ENV] = run_id
    if try_number is not None:
        env[TRY_NUMBER_ENV] = str(try_number)
    if heartbeat_seconds is not None:
        env[HEARTBEAT_SECONDS_ENV] = str(heartbeat_seconds)
    if watermarks is not None:
        env[WATERMARKS_ENV] = json.dumps(dict(watermarks), sort_keys=True)
    return env


def read_watermarks(environ: Mapping[str, str]) -> dict[str, str | None]:
    """The ``{table_id: committed watermark or None}`` that :func:`run_logger_env` put in
    ``WATERMARKS_ENV`` (empty when unset; a value that is not such a JSON object is a ValueError
    naming the variable)."""
    raw = env_value(environ, WATERMARKS_ENV)
    if raw is None:
        return {}
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{WATERMARKS_ENV} is not JSON: {exc.msg} at position {exc.pos}") from None
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and (v is None or isinstance(v, str)) for k, v in data.items()
    ):
        raise ValueError(f"{WATERMARKS_ENV} must be a JSON object of table id to string or null")
    return data


def derive_run_id(dag_id: str, dag_run_id: str, task_group_id: str | None = None) -> str:
    """The deterministic run id of a pipeline run inside an Airflow dag run.

    ``<dag_id>/<dag_run_id>[/<task_group_id>]``, stable across task retries, so another DAG can
    compute it. Ids that would be too long or contain unsafe characters are shortened to
    ``<dag_id prefix>/<sha256 prefix>``.
    """
    parts = [dag_id, dag_run_id] + ([task_group_id] if task_group_id else [])
    readable = "/".join(parts)
    if len(readable) <= _MAX_ID and _SAFE_ID.match(readable):
        return readable
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:40]
    prefix = re.sub(r"[^A-Za-z0-9_.-]", "_", dag_id)[:100] or "run"
    if not prefix[0].isalnum():
        prefix = "r" + prefix
    return f"{prefix}/{digest}"


def env_value(environ: Mapping[str, str], *names: str) -> str | None:
    """The first of ``names`` set to a real value (a template rendered from a missing XCom gives
    ``"None"``, which counts as unset)."""
    for name in names:
        raw = environ.get(name)
        if raw is not None and raw.strip() not in ("", "None"):
            return raw.strip()
    return None


def read_try_number(environ: Mapping[str, str]) -> int | None:
    """The try number from our variable, else from Airflow's task-runner variable."""
    raw = env_value(environ, TRY_NUMBER_ENV, AIRFLOW_TRY_NUMBER_ENV)
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        return None


def read_task_id(environ: Mapping[str, str]) -> str | None:
    """The id of the task running the job: our variable, else Airflow's task-runner variable."""
    return env_value(environ, TASK_ID_ENV, AIRFLOW_TASK_ID_ENV)


def job_parameters(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The pipeline's rendered ``parameters`` in a driver launched by ``PipelineRunTaskGroup``
    (``{}`` when none were passed)."""
    import json
    import os

    raw = (os.environ if environ is None else environ).get(PARAMETERS_ENV)
    value = json.loads(raw) if raw else {}
    return dict(value) if isinstance(value, dict) else {}

"""What a driver learns from its launch environment: the run, pipeline and attempt it records,
the task's identity (try number, task id, Airflow's ``AIRFLOW_CTX_*``), the logger's timings and
the registry's settings (the variables of ``run_logger_env`` and ``spark_task_env``)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from ..config import DynamoDBConfig
from ..errors import RegistryValidationError
from ..run_env import (
    ATTEMPT_ID_ENV,
    HEARTBEAT_SECONDS_ENV,
    LEASE_SECONDS_ENV,
    PIPELINE_ID_ENV,
    RUN_ID_ENV,
    env_value,
    read_task_id,
    read_try_number,
)

#: optional: total seconds the end write is retried for (default 60)
END_RETRY_SECONDS_ENV = "PIPELINE_REGISTRY_END_RETRY_SECONDS"
_AIRFLOW_IDENTITY_ENV = {
    "dag_id": "AIRFLOW_CTX_DAG_ID",
    "dag_run_id": "AIRFLOW_CTX_DAG_RUN_ID",
}


def logger_arguments(environ: Mapping[str, str] | None, overrides: Mapping[str, Any]) -> dict[str, Any]:
    """The keyword arguments of ``PipelineRunLogger`` read from ``environ`` (None: ``os.environ``,
    else ``environ`` first, then the process environment for the task identity), ``overrides``
    (not None) winning; a missing run or pipeline id is a RegistryValidationError naming its variable."""
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
        # the attempt the start operator opened (not the driver's own attempt id)
        "opened_attempt_id": env_value(env, ATTEMPT_ID_ENV),
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
                raise RegistryValidationError(f"{var} must be a number of seconds, got {raw!r}", field=var) from None
    given = {k: v for k, v in overrides.items() if v is not None}
    for old, new in (("attempt_id", "opened_attempt_id"), ("config", "settings")):
        if old in given:  # a deprecated keyword (PipelineRunLogger warns) wins over the environment
            values.pop(new, None)
    values.update(given)
    for required, var in (("pipeline_id", PIPELINE_ID_ENV), ("run_id", RUN_ID_ENV)):
        if not values.get(required):
            raise RegistryValidationError(
                f"{var} is not set: pass {required}=... or launch the job with the run_logger_env "
                "variables (LoadPipelineConfigOperator XCom 'run_logger_env', or run_logger_env(...))",
                field=required,
            )
    if not {"settings", "config", "registry"} & values.keys():
        values["settings"] = DynamoDBConfig.from_env(env)
    return values

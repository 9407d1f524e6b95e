"""The one place the Airflow face imports Airflow names from.

Airflow 3 (``airflow.sdk``) is the primary target; Airflow 2.11 paths are the fallback, resolved
through ``airflow.providers.common.compat.sdk`` (the official providers' own shim).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import (
    AirflowException,
    AirflowFailException,
    AirflowSkipException,
    BaseOperator,
    BaseSensorOperator,
    PokeReturnValue,
    conf,
)

try:  # Airflow 3
    from airflow.sdk import Context
except ImportError:  # pragma: no cover - Airflow 2.11
    from airflow.utils.context import Context  # type: ignore[no-redef,attr-defined]

# trigger classes are not part of the task SDK; same path on Airflow 2.11 and 3
from airflow.triggers.base import BaseTrigger, TriggerEvent

try:
    from airflow.providers.common.compat.sdk import AirflowSensorTimeout
except ImportError:  # pragma: no cover
    from airflow.exceptions import AirflowSensorTimeout  # type: ignore[no-redef]

if TYPE_CHECKING:
    ContextT = Context
else:
    ContextT = Any

__all__ = [
    "AirflowException",
    "AirflowFailException",
    "AirflowSensorTimeout",
    "AirflowSkipException",
    "BaseOperator",
    "BaseSensorOperator",
    "BaseTrigger",
    "Context",
    "PokeReturnValue",
    "TriggerEvent",
    "conf",
]

"""The one place the Airflow face imports Airflow names from.

Airflow 3 (``airflow.sdk``) is the primary target; Airflow 2.11 paths are the fallback, resolved
through ``airflow.providers.common.compat.sdk`` (the official providers' own shim, Airflow 3 path
first). Every name below is there since common-compat 1.11 (the lower bound in pyproject.toml).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import (
    AirflowException,
    AirflowFailException,
    AirflowSensorTimeout,
    AirflowSkipException,
    BaseOperator,
    BaseSensorOperator,
    Context,
    PokeReturnValue,
    conf,
)

# trigger classes are not part of the task SDK; same path on Airflow 2.11 and 3
from airflow.triggers.base import BaseTrigger, TriggerEvent


def _airflow_version() -> tuple[int, ...]:
    from airflow import __version__
    from packaging.version import Version

    return Version(__version__).release


#: Airflow 3.2+ reads the connection form from the provider info (``conn-fields``); older
#: versions call the hook's ``get_connection_form_widgets()`` / ``get_ui_field_behaviour()``
AIRFLOW_V_3_2_PLUS = _airflow_version() >= (3, 2)
#: Airflow 3.1+: plugins may add FastAPI apps and navigation entries to the api-server (the UI)
AIRFLOW_V_3_1_PLUS = _airflow_version() >= (3, 1)
#: Airflow 3: assets and asset aliases with run-time events (the registry's asset events need them)
AIRFLOW_V_3_PLUS = _airflow_version() >= (3,)


def mask_secret(secret: str) -> None:
    """Hand ``secret`` to Airflow's secrets masker: hidden (``***``) wherever it turns up in this
    task's logs and rendered fields (``airflow.sdk.log`` on Airflow 3, ``airflow.utils.log`` on 2.11)."""
    try:
        from airflow.providers.common.compat.sdk import mask_secret as airflow_mask_secret
    except ImportError:  # pragma: no cover - a common-compat without the name
        try:
            from airflow.sdk.log import mask_secret as airflow_mask_secret
        except ImportError:
            from airflow.utils.log.secrets_masker import (  # type: ignore[no-redef]
                mask_secret as airflow_mask_secret,
            )
    airflow_mask_secret(secret)


def register_sensitive_var_conn_names() -> None:
    """Add Airflow's ``[core] sensitive_var_conn_names`` to the registry's redaction (this process)."""
    from ..registry.redaction import add_sensitive_names

    add_sensitive_names(str(conf.get("core", "sensitive_var_conn_names", fallback="") or ""))


if TYPE_CHECKING:
    ContextT = Context
else:
    ContextT = Any

__all__ = [
    "AIRFLOW_V_3_1_PLUS",
    "AIRFLOW_V_3_2_PLUS",
    "AIRFLOW_V_3_PLUS",
    "AirflowException",
    "AirflowFailException",
    "AirflowSensorTimeout",
    "AirflowSkipException",
    "BaseOperator",
    "BaseSensorOperator",
    "BaseTrigger",
    "Context",
    "ContextT",
    "PokeReturnValue",
    "TriggerEvent",
    "conf",
    "mask_secret",
    "register_sensitive_var_conn_names",
]

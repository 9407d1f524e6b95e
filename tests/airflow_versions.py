"""What the tests read from Airflow where 2.11 and 3 differ (scripts/test-airflow2.sh runs the same
tests on Airflow 2.11). Airflow 3 first, the 2.11 path as the fallback. Import Airflow lazily: this
module is imported by test modules before the session fixtures migrate the metadata DB.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable
from typing import Any

#: the Airflow major version installed (from the distribution's metadata: no Airflow import)
AIRFLOW_MAJOR = int(importlib.metadata.version("apache-airflow").split(".")[0])
AIRFLOW_V3 = AIRFLOW_MAJOR >= 3


def xcom_rows(dr: Any, task_id: str | None = None) -> list[tuple[str, str, Any]]:
    """``(task_id, key, value)`` of every XCom of the dag run ``dr`` (of ``task_id`` only if given)."""
    from airflow.utils.session import create_session

    filters: dict[str, Any] = {"run_id": dr.run_id, "dag_ids": dr.dag_id}
    if task_id is not None:
        filters["task_ids"] = task_id
    try:
        from airflow.models.xcom import XComModel
    except ImportError:  # Airflow 2.11: XCom.get_many returns a query
        from airflow.models.xcom import XCom

        with create_session() as session:
            rows = XCom.get_many(session=session, **filters).all()
            return [(row.task_id, row.key, XCom.deserialize_value(row)) for row in rows]
    with create_session() as session:
        rows = session.scalars(XComModel.get_many(**filters)).all()
        return [(row.task_id, row.key, XComModel.deserialize_value(row)) for row in rows]


def serde() -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    """Airflow's ``(serialize, deserialize)`` (what the triggerer uses for trigger kwargs)."""
    try:
        from airflow.sdk.serde import deserialize, serialize
    except ImportError:  # Airflow 2.11
        from airflow.serialization.serde import deserialize, serialize
    return serialize, deserialize

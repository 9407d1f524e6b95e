"""What the tests read from Airflow where 2.11 and 3 differ (scripts/test-airflow2.sh runs the same
tests on Airflow 2.11). Airflow 3 first, the 2.11 path as the fallback. Import Airflow lazily: this
module is imported by test modules before the session fixtures migrate the metadata DB.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import logging
from collections.abc import Callable, Iterator
from typing import Any

#: the Airflow (major, minor) installed (from the distribution's metadata: no Airflow import)
AIRFLOW_VERSION = tuple(int(part) for part in importlib.metadata.version("apache-airflow").split(".")[:2])
AIRFLOW_V3 = AIRFLOW_VERSION >= (3, 0)
#: Airflow 3.3+ gives task instances a state store their retries share (the sensor's timeout budget)
HAS_TASK_STATE_STORE = AIRFLOW_VERSION >= (3, 3)


@contextlib.contextmanager
def root_logging_kept() -> Iterator[None]:
    """Restore the root logger's level and handlers afterwards: Airflow 2.11's migrations (resetdb)
    apply alembic's logging config, which sets the root logger to WARNING with its own handler."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    try:
        yield
    finally:
        root.setLevel(level)
        for handler in list(root.handlers):
            if handler not in handlers:
                root.removeHandler(handler)
        for handler in handlers:
            if handler not in root.handlers:
                root.addHandler(handler)


def xcom_rows(dr: Any, task_id: str | None = None) -> list[tuple[str, str, Any]]:
    """``(task_id, key, value)`` of every XCom of the dag run ``dr`` (of ``task_id`` only if given)."""
    from airflow.utils.session import create_session

    filters: dict[str, Any] = {"run_id": dr.run_id, "dag_ids": dr.dag_id}
    if task_id is not None:
        filters["task_ids"] = task_id
    try:
        from airflow.models.xcom import XComModel
    except ImportError:  # Airflow 2.11: XCom.get_many returns a query; rows are deserialized on load
        from airflow.models.xcom import XCom

        with create_session() as session:
            rows = XCom.get_many(session=session, **filters).all()
            return [(row.task_id, row.key, row.value) for row in rows]
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

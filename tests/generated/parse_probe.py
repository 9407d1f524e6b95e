"""Parse a DAG folder in this process with sockets forbidden; print what the DagBag holds as JSON.

``python parse_probe.py DAG_FOLDER``: every ``socket.socket`` (hence every connection: DynamoDB,
HTTP, a database server) raises from the moment Airflow is imported; the output says which DAGs
loaded (schedule, owner, tags, tasks), the import errors, and whether boto3/botocore/pyspark
were imported by the parse. Only urllib3's import-time IPv6 probe (a socket bound to ::1, which any
DAG importing ``SparkSubmitOperator`` triggers, generated or not) runs before the ban.
"""

from __future__ import annotations

import json
import socket
import sys
from typing import Any

# Airflow's own start-up, then urllib3, whose import probes IPv6 with a socket bound to ::1 (no I/O):
# any DAG with a SparkSubmitOperator imports it, hand-written or generated
import airflow  # noqa: F401
import urllib3  # noqa: F401

OPENED: list[str] = []


class ForbiddenSocket(socket.socket):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        import traceback

        OPENED.append(f"{args!r} from {''.join(traceback.format_stack(limit=14)[:-1])}")
        raise OSError("parsing a DAG file must open no socket")


socket.socket = ForbiddenSocket  # type: ignore[misc]


def main(folder: str) -> None:
    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # Airflow 2.11
        from airflow.models.dagbag import DagBag

    heavy_before = sorted(m for m in ("boto3", "botocore", "pyspark") if m in sys.modules)
    bag = DagBag(dag_folder=folder)
    dags: dict[str, Any] = {}
    for dag_id, dag in bag.dags.items():
        schedule: Any = getattr(dag, "schedule", None)
        if schedule is None:
            schedule = getattr(dag, "schedule_interval", None)
        # asset (Airflow 3) or dataset (2.11) triggered: the URIs it waits for
        condition = getattr(dag.timetable, "asset_condition", None) or getattr(dag.timetable, "dataset_condition", None)
        if getattr(condition, "objects", None) is not None:
            schedule = sorted(a.uri for a in condition.objects)
        elif isinstance(schedule, list | tuple):
            schedule = sorted(a.uri for a in schedule)
        elif hasattr(schedule, "objects"):
            schedule = sorted(a.uri for a in schedule.objects)
        elif schedule is not None and not isinstance(schedule, str):
            schedule = str(schedule)
        dags[dag_id] = {
            "schedule": schedule,
            "owner": dag.default_args.get("owner"),
            "retries": dag.default_args.get("retries"),
            "tags": sorted(dag.tags),
            "description": dag.description,
            "catchup": dag.catchup,
            "start_date": dag.start_date.isoformat() if dag.start_date else None,
            "tasks": [t.task_id for t in dag.topological_sort()],
        }
    print(
        json.dumps(
            {
                "dags": dags,
                "import_errors": {str(k): str(v) for k, v in bag.import_errors.items()},
                "heavy": sorted(m for m in ("boto3", "botocore", "pyspark") if m in sys.modules),
                "heavy_before": heavy_before,
                "sockets": OPENED,
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1])

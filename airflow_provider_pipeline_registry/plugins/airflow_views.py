"""The registry's runs of one Airflow dag run or task instance (the tabs on Airflow's own pages).

A run started from Airflow has the run id ``derive_run_id(dag_id, dag_run_id[, task_group_id])``
(:mod:`..registry.run_env`), so the runs of a dag run are found by key, with no index and no scan:
one Query on the run-log table's partition key per candidate id (the dag run's, and for a task
``group.sub.task`` also ``.../group`` and ``.../group.sub``). A run given an explicit run id is not
found here; its own page is linked from the task's "Registry run" extra link.
"""

from __future__ import annotations

from typing import Any

from ..registry.attributes import decode_item
from ..registry.conditions import KeyCondition
from ..registry.run_env import derive_run_id
from ..registry.run_logs import PipelineRunLogView
from .service import RegistryService, shown

#: at most this many runs are listed on one dag run's tab (one Query answers each candidate id)
MAX_RUNS = 50


def candidate_run_ids(dag_id: str, dag_run_id: str, task_id: str | None = None) -> list[str]:
    """The run ids a registry run of this dag run (and task) can have, most specific first."""
    groups: list[str] = []
    if task_id and "." in task_id:
        parts = task_id.split(".")[:-1]
        groups = [".".join(parts[: i + 1]) for i in range(len(parts))]
    return [derive_run_id(dag_id, dag_run_id, g) for g in reversed(groups)] + [derive_run_id(dag_id, dag_run_id)]


def parse_map_index(value: str | None) -> int | None:
    """Airflow's ``{MAP_INDEX}`` (``-1`` or absent for an unmapped task) as an int, else None."""
    try:
        index = int(value) if value not in (None, "") else None
    except ValueError:
        return None
    return index if index is not None and index >= 0 else None


def runs_of_airflow(
    svc: RegistryService,
    dag_id: str,
    dag_run_id: str,
    task_id: str | None = None,
    map_index: int | None = None,
) -> list[PipelineRunLogView]:
    """The registry's runs of the dag run (those of ``task_id`` and ``map_index`` first), newest first."""
    runs = svc.registry.runs
    zone = svc.zone()
    found: dict[tuple[str, str], PipelineRunLogView] = {}
    for run_id in candidate_run_ids(dag_id, dag_run_id, task_id):
        page = runs.gateway.query(KeyCondition("run_id", run_id), projection=["run_id", "pipeline_id"], limit=MAX_RUNS)
        for item in page.items:
            key = decode_item(item)
            pair = (str(key["run_id"]), str(key["pipeline_id"]))
            if pair not in found and len(found) < MAX_RUNS:
                view = runs.find_by_id(pair[0], pair[1], consistent=True, tz=zone)
                if view is not None:
                    found[pair] = shown(view)

    def order(run: PipelineRunLogView) -> tuple[Any, ...]:
        own_task = task_id is not None and run.task_id == task_id
        own_index = map_index is None or run.map_index == map_index
        return (not (own_task and own_index), -run.start_time.timestamp())

    return sorted(found.values(), key=order)

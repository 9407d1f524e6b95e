"""Registry-driven DAGs: :func:`PipelineRunTaskGroup` (one pipeline run as a task group) and
:func:`registry_dags` (one DAG per active pipeline, from a snapshot file).

The names are imported on first use, so importing this package imports neither Airflow nor boto3.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .generated import PipelineDagError, RegistryDags, registry_dags, snapshot_refresh_dag
    from .spark_task import PrepareSparkTask
    from .task_group import PipelineRunTaskGroup, SparkTaskSpec, spark_submit_task

_EXPORTS = {
    "PipelineRunTaskGroup": ".task_group",
    "SparkTaskSpec": ".task_group",
    "spark_submit_task": ".task_group",
    "PrepareSparkTask": ".spark_task",
    "PipelineDagError": ".generated",
    "RegistryDags": ".generated",
    "registry_dags": ".generated",
    "snapshot_refresh_dag": ".generated",
}

__all__ = [
    "PipelineDagError",
    "PipelineRunTaskGroup",
    "PrepareSparkTask",
    "RegistryDags",
    "SparkTaskSpec",
    "registry_dags",
    "snapshot_refresh_dag",
    "spark_submit_task",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module, __name__), name)

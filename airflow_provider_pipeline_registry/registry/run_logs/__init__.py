"""Pipeline run logs: one item per run of a pipeline (PK ``run_id``, SK ``pipeline_id``).

Names are loaded on first use, so that importing ``run_logs.status`` or ``run_logs.verdict``
(as the Airflow operators and sensor do at DAG-parse time) does not import boto3 or the models.

* ``status``: :class:`RunStatus`, the one declaration of the run states;
* ``models``: the entity, the DTOs and the view;
* ``lifecycle``: the run lifecycle's decisions (start, join, claim, supersede, take over, end),
  pure functions; ``commands`` makes the conditional writes they name;
* ``verdict``: the verdict of whoever waits on a run (the sensor and its trigger), pure;
* ``ending``: the one policy by which Airflow ends a run (the end operator and the notifiers);
* ``queries``: the reads.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .status import TERMINAL_STATUSES, RunStatus

if TYPE_CHECKING:
    from .commands import PipelineRunLogsWriteApi
    from .models import (
        PipelineRunLog,
        PipelineRunLogUpsert,
        PipelineRunLogView,
        PipelineRunSummary,
        RunAttempt,
        RunFinish,
        RunStart,
    )
    from .queries import PipelineRunLogsReadApi

_LAZY = {
    "PipelineRunLogsWriteApi": "commands",
    "PipelineRunLogsReadApi": "queries",
    "PipelineRunLog": "models",
    "PipelineRunLogUpsert": "models",
    "PipelineRunLogView": "models",
    "PipelineRunSummary": "models",
    "RunAttempt": "models",
    "RunFinish": "models",
    "RunStart": "models",
}

__all__ = [
    "TERMINAL_STATUSES",
    "PipelineRunLog",
    "PipelineRunLogUpsert",
    "PipelineRunLogView",
    "PipelineRunLogsReadApi",
    "PipelineRunLogsWriteApi",
    "PipelineRunSummary",
    "RunAttempt",
    "RunFinish",
    "RunStart",
    "RunStatus",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value

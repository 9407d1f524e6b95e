"""Pipeline run logs: one item per run of a pipeline (PK ``run_id``, SK ``pipeline_id``).

The read and write APIs are loaded on first use, so that importing ``run_logs.models`` (as the
Airflow operators and sensor do at DAG-parse time) does not import boto3.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .models import (
    TERMINAL_STATUSES,
    PipelineRunLog,
    PipelineRunLogUpsert,
    PipelineRunLogView,
    RunAttempt,
    RunFinish,
    RunStart,
    RunStatus,
)

if TYPE_CHECKING:
    from .commands import PipelineRunLogsWriteApi
    from .queries import PipelineRunLogsReadApi

_LAZY = {"PipelineRunLogsWriteApi": "commands", "PipelineRunLogsReadApi": "queries"}

__all__ = [
    "TERMINAL_STATUSES",
    "PipelineRunLog",
    "PipelineRunLogUpsert",
    "PipelineRunLogView",
    "PipelineRunLogsReadApi",
    "PipelineRunLogsWriteApi",
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

"""Pipeline run logs: one item per run of a pipeline (PK ``run_id``, SK ``pipeline_id``)."""

from .commands import PipelineRunLogsWriteApi
from .models import (
    TERMINAL_STATUSES,
    PipelineRunLog,
    PipelineRunLogUpsert,
    PipelineRunLogView,
    RunFinish,
    RunStart,
    RunStatus,
)
from .queries import PipelineRunLogsReadApi

__all__ = [
    "TERMINAL_STATUSES",
    "PipelineRunLog",
    "PipelineRunLogUpsert",
    "PipelineRunLogView",
    "PipelineRunLogsReadApi",
    "PipelineRunLogsWriteApi",
    "RunFinish",
    "RunStart",
    "RunStatus",
]

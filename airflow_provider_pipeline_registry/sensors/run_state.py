"""Kept importable: the waiter's verdict and its read live in the core,
:mod:`airflow_provider_pipeline_registry.registry.run_logs.verdict` (the sensor and its trigger
both use it from there)."""

from __future__ import annotations

from ..registry.run_logs.status import RUN_STATES, RunStatus
from ..registry.run_logs.verdict import (
    DEFAULT_FAILED_STATES,
    DEFAULT_TARGET_STATES,
    FATAL_READ_ERRORS,
    RUN_STATE_ATTRIBUTES,
    Outcome,
    OutcomeKind,
    RunSnapshot,
    Wait,
    coerce_stale_after,
    decide,
    describe_run,
    describe_target,
    evaluate_run_state,
    normalize_states,
    read_run_state,
    validate_states,
)

RUNNING = RunStatus.RUNNING.value

__all__ = [
    "DEFAULT_FAILED_STATES",
    "DEFAULT_TARGET_STATES",
    "FATAL_READ_ERRORS",
    "RUNNING",
    "RUN_STATES",
    "RUN_STATE_ATTRIBUTES",
    "Outcome",
    "OutcomeKind",
    "RunSnapshot",
    "Wait",
    "coerce_stale_after",
    "decide",
    "describe_run",
    "describe_target",
    "evaluate_run_state",
    "normalize_states",
    "read_run_state",
    "validate_states",
]

"""Notifiers (Airflow ``BaseNotifier``) that record a pipeline run's end from a task or DAG callback.

``callbacks.py`` keeps the old names: ``record_run_success`` / ``record_run_failure``.
"""

from .base import PipelineRegistryBaseNotifier
from .pipeline_registry import PipelineRunEndNotifier, PipelineRunFailureNotifier, PipelineRunSuccessNotifier

__all__ = [
    "PipelineRegistryBaseNotifier",
    "PipelineRunEndNotifier",
    "PipelineRunFailureNotifier",
    "PipelineRunSuccessNotifier",
]

"""Moved to :mod:`airflow_provider_pipeline_registry.lineage` (``lineage/openlineage.py`` and
``lineage/facets/``); this module keeps the old import path."""

from .lineage import (
    RECORDS_WRITTEN,
    REGISTRY_RUN_FACET_KEY,
    REGISTRY_RUN_FACET_SCHEMA_FILE,
    PipelineRegistryLineageMixin,
    operator_lineage,
    registry_run_facet,
    registry_run_facet_schema,
    row_counts,
)

__all__ = [
    "RECORDS_WRITTEN",
    "REGISTRY_RUN_FACET_KEY",
    "REGISTRY_RUN_FACET_SCHEMA_FILE",
    "PipelineRegistryLineageMixin",
    "operator_lineage",
    "registry_run_facet",
    "registry_run_facet_schema",
    "row_counts",
]

"""OpenLineage of the registry operators (:mod:`.openlineage`) and the registry's custom facet (:mod:`.facets`)."""

from .facets import (
    REGISTRY_RUN_FACET_KEY,
    REGISTRY_RUN_FACET_SCHEMA_FILE,
    openlineage_available,
    registry_run_facet,
    registry_run_facet_schema,
)
from .openlineage import RECORDS_WRITTEN, PipelineRegistryLineageMixin, operator_lineage, row_counts

__all__ = [
    "RECORDS_WRITTEN",
    "REGISTRY_RUN_FACET_KEY",
    "REGISTRY_RUN_FACET_SCHEMA_FILE",
    "PipelineRegistryLineageMixin",
    "openlineage_available",
    "operator_lineage",
    "registry_run_facet",
    "registry_run_facet_schema",
    "row_counts",
]

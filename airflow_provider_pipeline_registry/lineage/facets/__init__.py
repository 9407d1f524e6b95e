"""The registry's custom OpenLineage facet, ``pipelineRegistry_run``, and its shipped JSON schema.

The schema file (``PipelineRegistryRunRunFacet.json``) sits beside this module, as the Airflow
OpenLineage provider ships ``facets/AirflowRunFacet.json``. OpenLineage is imported inside the
functions only.
"""

from __future__ import annotations

from functools import cache
from typing import Any


def openlineage_available() -> bool:
    """Whether the OpenLineage provider and client are installed."""
    try:
        import airflow.providers.openlineage  # noqa: F401
        import openlineage.client.event_v2  # noqa: F401
    except ImportError:
        return False
    return True


#: key of the registry's custom run facet. The spec (spec/OpenLineage.md, "Custom Facet Naming"):
#: a custom facet's key is ``{prefix}_{name}``, both camelCase, the prefix naming the project that
#: defines it (``bigQuery_statistics``); its class ``{prefix}{name}{entity}Facet`` PascalCased.
#: Earlier builds used the key ``pipelineRegistryRun`` (renamed, see the README).
REGISTRY_RUN_FACET_KEY = "pipelineRegistry_run"

#: the facet's JSON schema, shipped in the package (``importlib.resources``, path relative to the
#: root package ``airflow_provider_pipeline_registry``): it extends the
#: spec's ``RunFacet`` with the facet's fields, as the Airflow OpenLineage provider ships
#: ``airflow/providers/openlineage/facets/AirflowRunFacet.json`` for its own custom facets
REGISTRY_RUN_FACET_SCHEMA_FILE = "lineage/facets/PipelineRegistryRunRunFacet.json"


@cache
def registry_run_facet_schema() -> dict[str, Any]:
    """The shipped JSON schema of the ``pipelineRegistry_run`` facet (see :data:`REGISTRY_RUN_FACET_SCHEMA_FILE`)."""
    import json
    from importlib.resources import files

    text = files("airflow_provider_pipeline_registry").joinpath(REGISTRY_RUN_FACET_SCHEMA_FILE)
    schema: dict[str, Any] = json.loads(text.read_text(encoding="utf-8"))
    return schema


@cache
def _registry_run_facet_class() -> Any:
    import attrs
    from openlineage.client.facet_v2 import RunFacet

    @attrs.define
    class PipelineRegistryRunRunFacet(RunFacet):
        """The registry's run log entry behind a task's lineage event (key ``pipelineRegistry_run``).

        ``_schemaURL`` is ``RunFacet``'s: the spec's published, versioned definition
        (``https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunFacet`` with
        openlineage-python 1.x), which resolves and which the facet satisfies; the Airflow
        OpenLineage provider's own custom run facets do the same. The facet's fields are described
        by the schema shipped in this package (:func:`registry_run_facet_schema`), which extends it.
        The project has no published home yet to serve that file from.
        """

        pipelineId: str
        runId: str
        status: str
        tryNumber: int
        errorType: str | None = None
        errorMessage: str | None = None

    return PipelineRegistryRunRunFacet


def registry_run_facet(run: Any) -> Any:
    """The ``pipelineRegistry_run`` facet of a stored run (None without OpenLineage)."""
    if not openlineage_available():
        return None
    return _registry_run_facet_class()(
        pipelineId=str(run.pipeline_id),
        runId=str(run.run_id),
        status=str(getattr(run.status, "value", run.status)),
        tryNumber=int(run.try_number),
        errorType=run.error_type,
        errorMessage=run.error_message,
    )

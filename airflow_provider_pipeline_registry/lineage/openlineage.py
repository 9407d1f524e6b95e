"""OpenLineage for the registry operators: the pipeline's tables as inputs and outputs.

The OpenLineage provider (``apache-airflow-providers-openlineage``, extra ``openlineage`` of this
package) calls ``get_openlineage_facets_on_start/complete/failure`` on each operator that has them.
:class:`PipelineRegistryLineageMixin` gives them to the load, start and end operators:

* inputs: the pipeline's active ``source`` tables; outputs: its active ``target`` tables, each
  named by :func:`~airflow_provider_pipeline_registry.registry.lineage_names.table_lineage_name`
  (namespace/name per the OpenLineage naming spec for the location's scheme);
* on completion, each output carries an ``outputStatistics`` facet when the run's metrics say how
  many rows it got: the metric ``records_written.<table_id>``, or ``records_written`` when the
  pipeline has one target table;
* on failure, the run's error (``error_type: error_message``) as an ``errorMessage`` run facet
  (the OpenLineage listener replaces it with the task's exception when there is one);
* on completion and failure, a ``pipelineRegistry_run`` run facet
  (:data:`REGISTRY_RUN_FACET_KEY`, class ``PipelineRegistryRunRunFacet``): the registry run's
  pipeline id, run id, status, try and error, which links the lineage event to the run log.

OpenLineage is imported inside the methods only; without it they return None and nothing else
changes. A fault while reading the registry is logged, never raised into the task.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from ..registry.lineage_names import table_field, table_is_active, table_lineage_name, table_role
from .facets import REGISTRY_RUN_FACET_KEY, openlineage_available, registry_run_facet

log = logging.getLogger(__name__)

#: the metric of a run that counts the rows written (per table: ``records_written.<table_id>``)
RECORDS_WRITTEN = "records_written"


def row_counts(tables: Iterable[Any], metrics: dict[str, Any] | None) -> dict[str, int]:
    """Rows written per target table id, from a run's ``metrics`` (see the module doc)."""
    metrics = dict(metrics or {})
    targets = [str(table_field(t, "table_id")) for t in tables if table_role(t) == "target" and table_is_active(t)]
    counts: dict[str, int] = {}
    for table_id in targets:
        value = metrics.get(f"{RECORDS_WRITTEN}.{table_id}")
        if value is None and len(targets) == 1:
            value = metrics.get(RECORDS_WRITTEN)
        if value is not None:
            counts[table_id] = int(value)
    return counts


def operator_lineage(
    tables: Iterable[Any],
    *,
    metrics: dict[str, Any] | None = None,
    error: str | None = None,
    run: Any = None,
) -> Any:
    """An ``OperatorLineage`` of ``tables`` (sources in, targets out), or None without OpenLineage.

    ``metrics`` adds ``outputStatistics`` to the outputs it counts; ``error`` adds an
    ``errorMessage`` run facet; ``run`` (a stored run log) the ``pipelineRegistry_run`` run facet.
    """
    if not openlineage_available():
        return None
    from airflow.providers.openlineage.extractors import OperatorLineage
    from openlineage.client.event_v2 import InputDataset, OutputDataset
    from openlineage.client.facet_v2 import error_message_run, output_statistics_output_dataset

    active = [t for t in tables if table_is_active(t)]
    counts = row_counts(active, metrics)
    inputs: list[Any] = []
    outputs: list[Any] = []
    for table in active:
        name = table_lineage_name(table)
        if table_role(table) == "target":
            facets: dict[str, Any] = {}
            count = counts.get(str(table_field(table, "table_id")))
            if count is not None:
                facets["outputStatistics"] = output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
                    rowCount=count
                )
            outputs.append(OutputDataset(namespace=name.namespace, name=name.name, outputFacets=facets))
        else:
            inputs.append(InputDataset(namespace=name.namespace, name=name.name))
    run_facets: dict[str, Any] = {}
    if error:
        run_facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(message=error, programmingLanguage="python")
    if run is not None:
        run_facets[REGISTRY_RUN_FACET_KEY] = registry_run_facet(run)
    return OperatorLineage(inputs=inputs, outputs=outputs, run_facets=run_facets)


class PipelineRegistryLineageMixin:
    """OpenLineage methods for an operator with ``pipeline_id``, ``hook`` and an optional ``run_id``.

    The tables are read from the registry once per task (active tables of the pipeline); the
    run (metrics, error) on completion and failure, with a consistent read.
    """

    pipeline_id: str
    _lineage_tables_cache: list[Any] | None = None

    def _lineage_tables(self) -> list[Any]:
        if self._lineage_tables_cache is None:
            hook: Any = getattr(self, "hook")  # noqa: B009 - the operator's cached hook
            self._lineage_tables_cache = list(hook.registry.tables.iter_by_pipeline(self.pipeline_id, active_only=True))
        return self._lineage_tables_cache

    def _lineage_run(self, task_instance: Any) -> Any:
        from ..registry.run_env import derive_run_id
        from ..utils.run_context import task_group_id_of

        run_id = getattr(self, "run_id", None)
        if not run_id or "{{" in str(run_id):
            run_id = derive_run_id(str(task_instance.dag_id), str(task_instance.run_id), task_group_id_of(self))
        hook: Any = getattr(self, "hook")  # noqa: B009
        return hook.registry.runs.find_entity(str(run_id), self.pipeline_id, consistent=True)

    def _lineage(self, task_instance: Any | None, *, failed: bool) -> Any:
        if not openlineage_available():
            return None
        try:
            tables = self._lineage_tables()
            run = self._lineage_run(task_instance) if task_instance is not None else None
        except Exception as exc:  # lineage must never break the task
            from ..registry.errors import redact

            log.warning(
                "pipeline-registry: no OpenLineage datasets for pipeline %r: %s: %s",
                self.pipeline_id,
                type(exc).__name__,
                redact(str(exc)),
            )
            return None
        error = None
        if failed:
            if run is not None and run.error_message:
                error = f"{run.error_type or 'Error'}: {run.error_message}"
            else:
                error = f"task {getattr(task_instance, 'task_id', '?')} failed"
        return operator_lineage(tables, metrics=run.metrics if run is not None else None, error=error, run=run)

    def get_openlineage_facets_on_start(self) -> Any:
        """Inputs (source tables) and outputs (target tables) of the pipeline, before the task runs."""
        return self._lineage(None, failed=False)

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """As on start, with the output row counts of the run's metrics."""
        return self._lineage(task_instance, failed=False)

    def get_openlineage_facets_on_failure(self, task_instance: Any) -> Any:
        """As on completion, with the run's error as an ``errorMessage`` run facet."""
        return self._lineage(task_instance, failed=True)

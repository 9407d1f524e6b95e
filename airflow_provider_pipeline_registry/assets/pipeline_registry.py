"""Airflow assets of the registry's tables: data-aware scheduling on a pipeline's target tables.

* :func:`asset_for_table` / :func:`pipeline_assets` build the ``Asset`` of a table (URI rules in
  :mod:`~airflow_provider_pipeline_registry.registry.lineage_names`) from a table config, a mapping
  or a seed file entry: at DAG parse time, without reading DynamoDB.
* :func:`pipeline_asset_alias` is the ``AssetAlias`` (``pipeline-registry:<pipeline_id>``) that
  ``EndPipelineRunOperator`` declares as an outlet; :func:`emit_run_asset_events` adds one event
  per active target table of a SUCCESS run through it, with the run's figures as ``extra``.

A consumer DAG scheduled on ``Asset("s3://lake/curated/sales_by_region")`` then runs after each
successful run of the pipeline that writes that table. A FAILED or CANCELLED run emits nothing.

Airflow 3 names come from ``airflow.sdk``; on Airflow 2.11 the same functions return
``airflow.datasets.Dataset`` / ``DatasetAlias`` (through ``airflow.providers.common.compat.sdk``),
which 2.11 schedules on the same way. Airflow is imported inside the functions only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..registry.lineage_names import (
    asset_alias_name,
    table_field,
    table_is_active,
    table_lineage_name,
    table_role,
)

if TYPE_CHECKING:
    from airflow.sdk import Asset, AssetAlias

__all__ = [
    "asset_event_extra",
    "asset_for_table",
    "emit_run_asset_events",
    "pipeline_asset_alias",
    "pipeline_assets",
    "pipeline_assets_from_file",
    "target_tables",
]


def _asset_classes() -> tuple[type[Asset], type[AssetAlias]]:
    from airflow.providers.common.compat.sdk import Asset, AssetAlias

    return Asset, AssetAlias


def asset_for_table(table: Any) -> Asset:
    """The ``Asset`` of ``table`` (a table config, view, or mapping with ``table_id`` and ``location``)."""
    asset_cls, _ = _asset_classes()
    return asset_cls(table_lineage_name(table).uri)


def target_tables(pipeline_id: str, tables: Iterable[Any], *, role: str = "target") -> list[Any]:
    """The active tables of ``pipeline_id`` with ``role`` among ``tables`` (a table's missing
    ``pipeline_id`` counts as ``pipeline_id``, as in a seed file's nested ``tables``)."""
    wanted = role.lower()
    return [
        t
        for t in tables
        if str(table_field(t, "pipeline_id") or pipeline_id) == pipeline_id
        and table_is_active(t)
        and table_role(t) == wanted
    ]


def pipeline_assets(pipeline_id: str, tables: Iterable[Any], *, role: str = "target") -> list[Asset]:
    """The assets of the active ``role`` tables of ``pipeline_id``: what its end operator emits.

    ``tables`` are table configs or mappings (e.g. a seed file's entries); nothing is read from
    DynamoDB, so this is safe at parse time. Duplicate URIs appear once, in table order.
    """
    assets: dict[str, Asset] = {}
    for table in target_tables(pipeline_id, tables, role=role):
        asset = asset_for_table(table)
        assets.setdefault(asset.uri, asset)
    return list(assets.values())


def pipeline_assets_from_file(
    path: str | Path,
    pipeline_id: str,
    *,
    role: str = "target",
    placeholders: Mapping[str, str] | None = None,
) -> list[Asset]:
    """:func:`pipeline_assets` of ``pipeline_id`` from a config file (the ``pipeline-registry config
    import`` YAML/JSON format), after replacing each ``{name}`` of ``placeholders`` in its text."""
    import yaml

    text = Path(path).read_text(encoding="utf-8")
    for name, value in (placeholders or {}).items():
        text = text.replace("{" + name + "}", value)
    document = yaml.safe_load(text) or {}
    pipelines: list[Any]
    loose: list[Any] = []
    if isinstance(document, list):
        pipelines = document
    elif isinstance(document, Mapping) and ("pipelines" in document or "tables" in document):
        pipelines = list(document.get("pipelines") or [])
        loose = list(document.get("tables") or [])
    else:
        pipelines = [document]
    tables: list[Any] = []
    for pipeline in pipelines:
        if isinstance(pipeline, Mapping) and pipeline.get("pipeline_id") == pipeline_id:
            nested = pipeline.get("tables") or []
            tables.extend(dict(t, pipeline_id=t.get("pipeline_id") or pipeline_id) for t in nested)
    tables.extend(t for t in loose if isinstance(t, Mapping) and t.get("pipeline_id") == pipeline_id)
    return pipeline_assets(pipeline_id, tables, role=role)


def pipeline_asset_alias(pipeline_id: str) -> AssetAlias:
    """The ``AssetAlias`` ``pipeline-registry:<pipeline_id>`` the end operator emits through."""
    _, alias_cls = _asset_classes()
    return alias_cls(asset_alias_name(pipeline_id))


def asset_event_extra(run: Any, table: Any) -> dict[str, Any]:
    """The ``extra`` of the asset event of ``table`` for a finished ``run`` (a stored run log).

    ``{"pipeline_id", "table_id", "run_id", "try_number", "end_time" (UTC ISO, storage format),
    "records_written" (the run's metric, None when it has none)}``.
    """
    from ..registry.timezones import format_utc

    metrics = dict(getattr(run, "metrics", None) or {})
    written = metrics.get("records_written")
    end_time = getattr(run, "end_time", None)
    return {
        "pipeline_id": str(run.pipeline_id),
        "table_id": str(table_field(table, "table_id")),
        "run_id": str(run.run_id),
        "try_number": int(run.try_number),
        "end_time": format_utc(end_time) if end_time is not None else None,
        "records_written": _plain_number(written),
    }


def _plain_number(value: Any) -> int | float | None:
    if value is None:
        return None
    number = float(value)
    return int(number) if number.is_integer() else number


def emit_run_asset_events(
    outlet_events: Any, *, run: Any, tables: Iterable[Any], alias: AssetAlias | None = None
) -> list[dict[str, Any]]:
    """Add one asset event per active target table of ``run``'s pipeline through the pipeline's alias.

    ``outlet_events`` is the task context's ``outlet_events``; the alias must be among the task's
    outlets (``EndPipelineRunOperator`` declares it). Only a SUCCESS run emits: for any other
    status nothing is added and ``[]`` is returned. Returns ``[{"uri": ..., "extra": {...}}]``.
    """
    status = str(getattr(run.status, "value", run.status))
    if status != "SUCCESS":
        return []
    alias = alias if alias is not None else pipeline_asset_alias(str(run.pipeline_id))
    emitted: list[dict[str, Any]] = []
    seen: set[str] = set()
    for table in target_tables(str(run.pipeline_id), tables):
        asset = asset_for_table(table)
        if asset.uri in seen:
            continue
        seen.add(asset.uri)
        extra = asset_event_extra(run, table)
        outlet_events[alias].add(asset, extra=extra)
        emitted.append({"uri": asset.uri, "extra": extra})
    return emitted


def end_operator_outlets(pipeline_id: str, outlets: Any) -> list[Any]:
    """``outlets`` (the user's, if any) plus the pipeline's alias, for ``EndPipelineRunOperator``.

    A templated ``pipeline_id`` (``{{ ... }}``) has no alias known at parse time: none is added,
    and such an end operator emits no asset events. Neither does one on Airflow 2, whose dataset
    aliases cannot take the run-time events (its scheduler fails to store them).
    """
    from ..utils.compat import AIRFLOW_V_3_PLUS

    merged = [] if outlets is None else list(outlets) if isinstance(outlets, list | tuple) else [outlets]
    if "{{" in pipeline_id or not AIRFLOW_V_3_PLUS:
        return merged
    name = asset_alias_name(pipeline_id)
    if not any(getattr(o, "name", None) == name and type(o).__name__ in _ALIAS_TYPES for o in merged):
        merged.append(pipeline_asset_alias(pipeline_id))
    return merged


_ALIAS_TYPES = ("AssetAlias", "DatasetAlias")


def emit_end_asset_events(operator: Any, context: Any, run: Any) -> list[dict[str, Any]]:
    """After a recorded end: the asset events of ``run`` through ``operator``'s pipeline alias.

    Nothing unless the stored run is SUCCESS and the alias is among the operator's outlets. The
    active tables are read from the registry now (a fault fails the task: a retry emits them).
    """
    status = str(getattr(run.status, "value", run.status))
    if status != "SUCCESS":
        return []
    name = asset_alias_name(str(run.pipeline_id))
    alias = next(
        (o for o in operator.outlets or [] if getattr(o, "name", None) == name and type(o).__name__ in _ALIAS_TYPES),
        None,
    )
    if alias is None:
        operator.log.info("No asset alias %r among the outlets of %s: no asset events", name, operator.task_id)
        return []
    outlet_events = context.get("outlet_events") if isinstance(context, Mapping) else None
    if outlet_events is None:  # execute() called outside a task run (no outlet events to add to)
        operator.log.warning("No outlet_events in the context of %s: no asset events", operator.task_id)
        return []
    tables = list(operator.hook.registry.tables.iter_by_pipeline(str(run.pipeline_id), active_only=True))
    emitted = emit_run_asset_events(outlet_events, run=run, tables=tables, alias=alias)
    operator.log.info(
        "Asset events through %r for run %s: %s",
        name,
        run.run_id,
        ", ".join(e["uri"] for e in emitted) or "none (the pipeline has no active target table)",
    )
    return emitted

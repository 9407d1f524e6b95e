"""Airflow assets of the registry's tables (:mod:`.pipeline_registry`): data-aware scheduling on a
pipeline's target tables. Airflow is imported inside the functions only."""

from .pipeline_registry import (
    asset_event_extra,
    asset_for_table,
    emit_end_asset_events,
    emit_run_asset_events,
    end_operator_outlets,
    pipeline_asset_alias,
    pipeline_assets,
    pipeline_assets_from_file,
    target_tables,
)

__all__ = [
    "asset_event_extra",
    "asset_for_table",
    "emit_end_asset_events",
    "emit_run_asset_events",
    "end_operator_outlets",
    "pipeline_asset_alias",
    "pipeline_assets",
    "pipeline_assets_from_file",
    "target_tables",
]

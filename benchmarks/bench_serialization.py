"""Serialization alone (no network): model -> DynamoDB item, and item -> model, microseconds per item."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from fixtures import plain_for_boto3, run_log_values, table_config_values
from timing import Sample, interleave

from airflow_provider_pipeline_registry.registry.run_logs import PipelineRunLog
from airflow_provider_pipeline_registry.registry.table_config import TableConfig
from airflow_provider_pipeline_registry.registry.timezones import utc_now

Directions = dict[str, tuple[Callable[[], object], Callable[[], object]]]


def _variants(kind: str, pynamodb_models: tuple[type[Any], type[Any]]) -> Directions:
    """``{variant: (to_item, from_item)}`` for one realistic item of ``kind``."""
    run_model, table_model = pynamodb_models
    if kind == "run log":
        values = run_log_values(1)
        ours: Any = PipelineRunLog.model_validate(values)
        pyn = run_model(**values)
    else:
        now = utc_now()
        values = {**table_config_values(1), "version": 3, "created_at": now, "updated_at": now}
        ours = TableConfig.model_validate(values)
        pyn = table_model(**values)
    ours_item, pyn_item = ours.to_dynamodb_item(), pyn.serialize()
    if set(ours_item) != set(pyn_item):  # same work: the same attributes are written
        raise AssertionError(f"{kind}: items differ: {sorted(set(ours_item) ^ set(pyn_item))}")
    serializer, deserializer = TypeSerializer(), TypeDeserializer()
    plain = plain_for_boto3(values)
    plain_item = {k: serializer.serialize(v) for k, v in plain.items()}
    ours_type, pyn_type = type(ours), type(pyn)
    return {
        "boto3 TypeSerializer": (
            lambda: {k: serializer.serialize(v) for k, v in plain.items()},
            lambda: {k: deserializer.deserialize(v) for k, v in plain_item.items()},
        ),
        "PynamoDB": (pyn.serialize, lambda: pyn_type.from_raw_data(pyn_item)),
        "ours": (ours.to_dynamodb_item, lambda: ours_type.from_dynamodb_item(ours_item)),
    }


def run(
    pynamodb_models: tuple[type[Any], type[Any]], *, quick: bool
) -> list[tuple[str, dict[str, tuple[Sample, Sample]]]]:
    """``[(item kind, {variant: (to-item Sample, from-item Sample)})]``, seconds per item."""
    results = []
    rounds, inner = (7, 300) if quick else (25, 2000)
    for kind in ("run log", "table config"):
        variants = _variants(kind, pynamodb_models)
        to_item = interleave({n: fns[0] for n, fns in variants.items()}, rounds=rounds, warmup=200, inner=inner)
        from_item = interleave({n: fns[1] for n, fns in variants.items()}, rounds=rounds, warmup=200, inner=inner)
        results.append((kind, {n: (to_item[n], from_item[n]) for n in variants}))
    return results

"""Property-based bad input (hypothesis) through the write APIs on real DynamoDB Local.

For any input dict of the five DTOs -- valid values mixed with weird and huge strings, lone
surrogates, NaN/infinity, huge numbers, deep nesting, wrong types, unknown fields, naive datetimes
in DST gaps and folds, datetimes at the ends of the calendar -- the write either succeeds or
raises the registry's own ``ValidationError`` naming a field: never pydantic's error, never a
botocore error, never a DynamoDB 400 (``DynamoDB rejected the request``). What was written reads
back equal, value for value.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel
from reliability_helpers import registry_on

from airflow_provider_pipeline_registry.registry import (
    ConflictError,
    PipelineConfigUpsert,
    PipelineRunLogUpsert,
    Registry,
    RunFinish,
    RunStart,
    TableConfigUpsert,
    ValidationError,
)
from airflow_provider_pipeline_registry.registry.config_store import validate_dto

pytestmark = pytest.mark.integration

USER_TIMEZONE = "America/New_York"  # naive input is read here: DST gaps and folds are real
EXAMPLES = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
    derandomize=True,
)


@pytest.fixture(scope="module")
def registry(dynamodb_endpoint: str) -> Registry:
    return registry_on(dynamodb_endpoint, f"h{uuid.uuid4().hex[:10]}_", user_timezone=USER_TIMEZONE)


# -- value strategies ---------------------------------------------------------------------------
SPECIAL_STRINGS = [
    "",
    " ",
    "  padded  ",
    "\x00",
    "nul\x00inside",
    "\ud800",  # a lone surrogate: not encodable as UTF-8
    "tab\there",
    "line\nbreak",
    "zero\u200bwidth",
    "é",
    "🚀",
    "#n0",
    ":v0",
    "a.b",
    "x" * 255,
    "x" * 256,
    "x" * 1025,
]
HUGE_SIZES = [64 * 1024, 64 * 1024 + 1, 300 * 1024, 410 * 1024]

texts = st.one_of(
    st.text(max_size=30),
    st.text(st.characters(exclude_categories=()), max_size=10),  # surrogates included
    st.sampled_from(SPECIAL_STRINGS),
)
huge_texts = st.builds(lambda n, c: c * n, st.sampled_from(HUGE_SIZES), st.sampled_from(["a", "é", "🚀"]))
identifiers = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.:@/+=-]{0,40}", fullmatch=True)
numbers = st.one_of(
    st.integers(min_value=-(10**6), max_value=10**6),
    st.integers(min_value=-(10**45), max_value=10**45),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.decimals(allow_nan=True, allow_infinity=True, places=None),
)


def _nest(depth: int) -> Any:
    value: Any = "leaf"
    for level in range(depth):
        value = {"k": value} if level % 2 else [value]
    return value


deep = st.integers(min_value=25, max_value=120).map(_nest)
json_scalars = st.one_of(st.none(), st.booleans(), numbers, texts)
json_values = st.one_of(
    st.recursive(
        json_scalars,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
        max_leaves=8,
    ),
    deep,
)
offsets = st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59).map(lambda m: timezone(timedelta(minutes=m)))
datetimes_any = st.one_of(
    st.datetimes(),  # naive: read in the user's timezone
    st.datetimes(timezones=st.timezones()),
    st.datetimes(timezones=offsets),
    st.sampled_from(
        [
            datetime(2026, 3, 8, 2, 30),  # does not exist in New York
            datetime(2026, 11, 1, 1, 30),  # ambiguous in New York
            datetime(2026, 11, 1, 1, 30, fold=1),  # ambiguous, disambiguated
            datetime.min,
            datetime.max,
            datetime.min.replace(tzinfo=timezone(timedelta(hours=5))),
            datetime.max.replace(tzinfo=timezone(timedelta(hours=-5))),
        ]
    ),
)
wrong_types = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.binary(max_size=5),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.sets(st.text(max_size=3), max_size=2),
    st.sampled_from(["2026-03-08T02:30:00", "not a date", "RUNNING", "success", "1e400", "NaN"]),
)
anything = st.one_of(texts, huge_texts, numbers, datetimes_any, wrong_types, json_values)
unknown_fields = st.dictionaries(
    st.sampled_from(["zzz", "version", "created_at", "is_running", "expire_at", "duration_seconds", "__class__"]),
    anything,
    max_size=2,
)


def inputs(valid: Mapping[str, st.SearchStrategy[Any]], required: set[str]) -> st.SearchStrategy[dict[str, Any]]:
    """Dicts whose fields are valid (mostly), anything at all (sometimes), or missing; plus unknown ones."""

    def field(name: str) -> st.SearchStrategy[Any]:
        return st.one_of(valid[name], valid[name], valid[name], anything)

    clean = st.fixed_dictionaries(
        {k: valid[k] for k in valid if k in required},
        optional={k: valid[k] for k in valid if k not in required},
    )
    mixed = st.fixed_dictionaries(
        {k: field(k) for k in valid if k in required},
        optional={k: field(k) for k in valid if k not in required},
    )
    with_unknown = st.tuples(mixed, unknown_fields).map(lambda pair: {**pair[1], **pair[0]})
    return st.one_of(clean, mixed, with_unknown)


names = st.one_of(st.text(min_size=1, max_size=40), st.sampled_from(SPECIAL_STRINGS))
string_maps = st.dictionaries(st.text(min_size=1, max_size=20), texts, max_size=4)
metrics = st.dictionaries(st.text(min_size=1, max_size=20), numbers, max_size=4)
aware_times = st.datetimes(
    min_value=datetime(1970, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
) | st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.timezones())
times = st.one_of(aware_times, datetimes_any)
statuses = st.sampled_from(["RUNNING", "SUCCESS", "FAILED", "CANCELLED"])
end_statuses = st.sampled_from(["SUCCESS", "FAILED", "CANCELLED"])
optional_texts = st.none() | texts

PIPELINE_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "pipeline_id": identifiers,
    "name": names,
    "description": optional_texts | huge_texts,
    "owner": names,
    "is_active": st.booleans(),
    "schedule": optional_texts,
    "spark_application": optional_texts,
    "spark_conf": string_maps,
    "spark_args": st.lists(texts, max_size=4),
    "parameters": st.dictionaries(texts, json_values, max_size=4),
    "tags": st.lists(st.text(min_size=1, max_size=10), max_size=4),
}
TABLE_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "table_id": identifiers,
    "pipeline_id": identifiers,
    "table_name": names,
    "database": optional_texts,
    "role": st.sampled_from(["source", "target"]),
    "location": optional_texts,
    "format": st.sampled_from(["parquet", "delta", "iceberg", "orc", "csv", "json", "avro", "jdbc"]),
    "load_type": st.sampled_from(["full", "incremental", "append", "merge"]),
    "watermark_column": optional_texts,
    "watermark_value": optional_texts,
    "partition_columns": st.lists(texts, max_size=3),
    "primary_keys": st.lists(texts, max_size=3),
    "options": string_maps,
    "is_active": st.booleans(),
    "description": optional_texts | huge_texts,
}
IDENTITY_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "dag_id": optional_texts,
    "dag_run_id": optional_texts,
    "task_id": optional_texts,
    "map_index": st.none() | st.integers(min_value=-1, max_value=1000),
    "logical_date": st.none() | times,
    "spark_application_id": optional_texts,
    "spark_application_name": optional_texts,
    "spark_ui_url": optional_texts,
}
RUN_LOG_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "run_id": identifiers,
    "pipeline_id": identifiers,
    "status": statuses,
    "try_number": st.integers(min_value=1, max_value=10_000),
    "start_time": times,
    "end_time": st.none() | times,
    "heartbeat_at": st.none() | times,
    "metrics": metrics,
    "error_type": optional_texts,
    "error_message": optional_texts | huge_texts,
    **IDENTITY_FIELDS,
}
RUN_START_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "run_id": identifiers,
    "pipeline_id": identifiers,
    "try_number": st.integers(min_value=1, max_value=10_000),
    "start_time": times,
    "metrics": metrics,
    **IDENTITY_FIELDS,
}
RUN_FINISH_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "run_id": identifiers,
    "pipeline_id": identifiers,
    "status": end_statuses,
    "try_number": st.none() | st.just(1),
    "end_time": times,
    "metrics": metrics,
    "error_type": optional_texts,
    "error_message": optional_texts | huge_texts,
}


# -- the property -------------------------------------------------------------------------------
def outcome(write: Callable[[], Any]) -> ValidationError | None:
    """Run ``write``; return our ValidationError if it raised one (anything else fails the test)."""
    error: ValidationError | None = None
    try:
        write()
    except ValidationError as exc:
        error = exc
    event("written" if error is None else "refused")
    if error is not None:
        assert type(error) is ValidationError
        assert not error.message.startswith("DynamoDB rejected"), f"reached DynamoDB: {error}"
        assert error.field, f"names no field: {error}"
    return error


def assert_round_trip(dto: BaseModel, stored: BaseModel, given_fields: Iterator[str] | set[str]) -> None:
    for name in type(dto).model_fields:
        if name in ("start_time", "end_time", "attempt_id") and name not in given_fields:
            continue  # defaulted at validation time ("now", a fresh attempt id): checked by the caller
        expected, actual = getattr(dto, name), getattr(stored, name)
        if isinstance(expected, datetime):
            # compared as instants: Python never calls an ambiguous (DST fold) wall time equal to
            # a datetime of another zone, even the same instant
            expected, actual = expected.astimezone(UTC), actual.astimezone(UTC)
        assert actual == expected, f"{name}: wrote {expected!r}, read back {actual!r}"
        if isinstance(expected, float | Decimal) and expected == 0:
            continue
        assert type(actual) is type(expected) or isinstance(expected, int | float | Decimal), name


def clear_run(registry: Registry, data: Mapping[str, Any]) -> None:
    run_id, pipeline_id = data.get("run_id"), data.get("pipeline_id")
    if isinstance(run_id, str) and isinstance(pipeline_id, str):
        with contextlib.suppress(Exception):  # invalid or absent key: nothing to clear
            registry.runs_write.delete(run_id, pipeline_id)


@EXAMPLES
@given(data=inputs(PIPELINE_FIELDS, {"pipeline_id", "name"}))
# found by this test: an empty map key reached DynamoDB and came back as a 400
@example(data={"pipeline_id": "p", "name": "n", "parameters": {"": 1}})
@example(data={"pipeline_id": "p", "name": "n", "parameters": {"a": [{"": "v"}]}})
@example(data={"pipeline_id": "p", "name": "n\ud800"})
def test_pipeline_config_upsert(registry: Registry, data: dict[str, Any]) -> None:
    error = outcome(lambda: registry.pipelines_write.upsert(data))
    if error is None:
        dto = validate_dto(PipelineConfigUpsert, data, registry.config.tzinfo)
        stored = registry.pipelines.find_entity(dto.pipeline_id, consistent=True)
        assert stored is not None
        assert_round_trip(dto, stored, set(data))


@EXAMPLES
@given(data=inputs(TABLE_FIELDS, {"table_id", "pipeline_id", "table_name"}))
def test_table_config_upsert(registry: Registry, data: dict[str, Any]) -> None:
    error = outcome(lambda: registry.tables_write.upsert(data))
    if error is None:
        dto = validate_dto(TableConfigUpsert, data, registry.config.tzinfo)
        stored = registry.tables.find_entity(dto.table_id, consistent=True)
        assert stored is not None
        assert_round_trip(dto, stored, set(data))


@EXAMPLES
@given(data=inputs(RUN_LOG_FIELDS, {"run_id", "pipeline_id", "status"}))
# found by this test: datetimes at the ends of the calendar raised OverflowError
@example(data={"run_id": "r", "pipeline_id": "p", "status": "RUNNING", "start_time": datetime.max})
@example(data={"run_id": "r", "pipeline_id": "p", "status": "RUNNING", "start_time": datetime.min})
@example(
    data={
        "run_id": "r",
        "pipeline_id": "p",
        "status": "RUNNING",
        "start_time": datetime.min.replace(tzinfo=timezone(timedelta(hours=5))),
    }
)
@example(
    data={"run_id": "r", "pipeline_id": "p", "status": "RUNNING", "start_time": datetime(2026, 11, 1, 1, 30, fold=1)}
)
def test_pipeline_run_log_upsert(registry: Registry, data: dict[str, Any]) -> None:
    error = outcome(lambda: registry.runs_write.batch_upsert([data]))
    if error is None:
        dto = validate_dto(PipelineRunLogUpsert, data, registry.config.tzinfo)
        stored = registry.runs.find_entity(dto.run_id, dto.pipeline_id, consistent=True)
        assert stored is not None
        assert_round_trip(dto, stored, set(data))


@EXAMPLES
@given(data=inputs(RUN_START_FIELDS, {"run_id", "pipeline_id"}))
@example(data={"run_id": "r", "pipeline_id": "p", "logical_date": datetime(9999, 12, 31, 20, tzinfo=UTC)})
@example(data={"run_id": "r", "pipeline_id": "p", "start_time": datetime(2026, 3, 8, 2, 30)})
def test_run_start(registry: Registry, data: dict[str, Any]) -> None:
    clear_run(registry, data)
    started: list[Any] = []
    error = outcome(lambda: started.append(registry.runs_write.start(data)))
    if error is None:
        dto = validate_dto(RunStart, data, registry.config.tzinfo)
        stored = registry.runs.find_entity(dto.run_id, dto.pipeline_id, consistent=True)
        assert stored is not None
        assert_round_trip(dto, stored, set(data))
        assert stored.attempt_id == started[0].attempt_id  # the attempt the start opened


@EXAMPLES
@given(data=inputs(RUN_FINISH_FIELDS, {"run_id", "pipeline_id", "status"}))
def test_run_finish(registry: Registry, data: dict[str, Any]) -> None:
    clear_run(registry, data)
    started = outcome(lambda: registry.runs_write.start({"run_id": data["run_id"], "pipeline_id": data["pipeline_id"]}))
    try:
        error = outcome(lambda: registry.runs_write.finish(data))
    except ConflictError:
        # only a finish for another try than the running one (try 1) is refused
        assert data.get("try_number") not in (None, 1)
        return
    if error is None:
        assert started is None
        dto = validate_dto(RunFinish, data, registry.config.tzinfo)
        stored = registry.runs.find_entity(dto.run_id, dto.pipeline_id, consistent=True)
        assert stored is not None
        assert stored.status == dto.status
        assert stored.try_number == 1
        if "end_time" in data:
            assert stored.end_time is not None
            assert stored.end_time.astimezone(UTC) == dto.end_time.astimezone(UTC)
        assert (stored.error_type, stored.error_message) == (dto.error_type, dto.error_message)
        assert stored.metrics == dto.metrics

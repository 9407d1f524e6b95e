"""The compiled per-model codec gives exactly what the generic attribute code gives."""

from __future__ import annotations

import enum
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from airflow_provider_pipeline_registry.registry.attributes import (
    MAX_ITEM_BYTES,
    check_item_size,
    decode_item,
    decode_number,
    encode_value,
    item_size,
)
from airflow_provider_pipeline_registry.registry.codec import _parse_stored_datetime, field_encoder
from airflow_provider_pipeline_registry.registry.errors import CorruptItemError, ValidationError
from airflow_provider_pipeline_registry.registry.fields import JsonMap, Metrics, StringMap, Tags
from airflow_provider_pipeline_registry.registry.model import RegistryModel, extract_model_metadata, model_codec
from airflow_provider_pipeline_registry.registry.pipeline_config import PipelineConfig
from airflow_provider_pipeline_registry.registry.run_logs import PipelineRunLog, PipelineRunLogView, RunStatus
from airflow_provider_pipeline_registry.registry.run_logs.models import RunAttempt
from airflow_provider_pipeline_registry.registry.table_config import TableConfig
from airflow_provider_pipeline_registry.registry.timezones import format_utc, parse_utc

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def generic_item(entity: RegistryModel) -> dict[str, Any]:
    """The item as the generic path builds it: ``encode_value`` per field (the pre-codec code)."""
    keys = extract_model_metadata(type(entity)).index_key_attributes
    item: dict[str, Any] = {}
    for name in type(entity).model_fields:
        value = getattr(entity, name)
        if value is None:
            continue
        if name == "attempts":
            if value:
                item[name] = encode_value([a.storage_value() for a in value], name)
            continue
        item[name] = encode_value(value, name, as_key_string=name in keys)
    return item


def generic_entity(model: type[RegistryModel], item: dict[str, Any]) -> RegistryModel:
    """The entity as the generic path reads it: ``decode_item`` then validation."""
    return model.model_validate(decode_item(item))


zones = st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))])
aware = st.datetimes(min_value=datetime(1, 1, 3), max_value=datetime(9999, 12, 29), timezones=zones)
ids = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9_.:@/+=-]{0,30}\Z")
text = st.text(max_size=20)
numbers = st.one_of(
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e120, max_value=1e120),
)
metric_names = st.text(min_size=1, max_size=10).filter(lambda s: s.strip() == s)


def optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


attempts = st.lists(
    st.builds(
        RunAttempt,
        attempt_id=optional(st.text(min_size=1, max_size=8)),
        try_number=optional(st.integers(1, 5)),
        status=st.sampled_from(["SUCCESS", "FAILED", "SUPERSEDED", "LEASE_EXPIRED"]),
        start_time=optional(aware),
        end_time=optional(aware),
        error_message=optional(text),
    ),
    max_size=3,
)

run_logs = st.fixed_dictionaries(
    {
        "run_id": ids,
        "pipeline_id": ids,
        "status": st.sampled_from(list(RunStatus)),
        "try_number": st.integers(1, 10_000),
        "start_time": aware,
    },
    optional={
        "end_time": optional(aware),
        "heartbeat_at": optional(aware),
        "logical_date": optional(aware),
        "updated_at": optional(aware),
        "dag_id": optional(text),
        "map_index": optional(st.integers(-1, 10**6)),
        "spark_ui_url": optional(text),
        "metrics": st.dictionaries(metric_names, numbers, max_size=5),
        "error_message": optional(text),
        "attempt_claimed": optional(st.booleans()),
        "start_try_number": optional(st.integers(1, 10_000)),
        "attempts": attempts,
        "is_running": optional(st.booleans()),
        "expire_at": optional(st.integers(0, 2**40)),
    },
)

configs = st.fixed_dictionaries(
    {
        "pipeline_id": ids,
        "name": st.text(min_size=1, max_size=20),
        "version": st.integers(1, 10**12),
        "created_at": aware,
        "updated_at": aware,
    },
    optional={
        "is_active": st.booleans(),
        "description": optional(text),
        "spark_conf": st.dictionaries(st.text(min_size=1, max_size=8), text, max_size=3),
        "spark_args": st.lists(text, max_size=3),
        "parameters": st.dictionaries(
            st.text(min_size=1, max_size=8), st.none() | st.booleans() | text | st.integers(-(10**9), 10**9), max_size=3
        ),
        "tags": st.lists(st.text(min_size=1, max_size=8), max_size=3),
    },
)

tables = st.fixed_dictionaries(
    {
        "table_id": ids,
        "pipeline_id": ids,
        "table_name": st.text(min_size=1, max_size=20),
        "version": st.integers(1, 10**12),
        "created_at": aware,
        "updated_at": aware,
    },
    optional={
        "role": st.sampled_from(["source", "target"]),
        "format": st.sampled_from(["delta", "parquet", "csv"]),
        "watermark_value": optional(text),
        "partition_columns": st.lists(text, max_size=3),
        "options": st.dictionaries(st.text(min_size=1, max_size=8), text, max_size=3),
        "is_active": st.booleans(),
    },
)


def outcome(fn: Any, *args: Any) -> tuple[Any, ...]:
    """``("ok", result)`` or ``("error", type, field, message)``: compares two paths' answers."""
    try:
        return ("ok", fn(*args))
    except (ValidationError, CorruptItemError) as exc:
        return ("error", type(exc), exc.field, exc.message)


def _entity(model: type[RegistryModel], values: dict[str, Any]) -> RegistryModel:
    try:
        return model.model_validate(values)
    except (ValidationError, CorruptItemError):
        assume(False)
        raise


def _check_round_trip(model: type[RegistryModel], values: dict[str, Any]) -> None:
    entity = _entity(model, values)
    expected = outcome(generic_item, entity)
    assert outcome(entity.to_dynamodb_item) == expected
    if expected[0] == "error":
        return
    item = expected[1]
    assert model.from_dynamodb_item(item) == generic_entity(model, item) == entity
    [back] = model.from_dynamodb_items([item])
    assert back == entity


@SETTINGS
@given(run_logs)
def test_run_log_codec_matches_the_generic_path(values: dict[str, Any]) -> None:
    _check_round_trip(PipelineRunLog, values)


@SETTINGS
@given(configs)
def test_pipeline_config_codec_matches_the_generic_path(values: dict[str, Any]) -> None:
    _check_round_trip(PipelineConfig, values)


@SETTINGS
@given(tables)
def test_table_config_codec_matches_the_generic_path(values: dict[str, Any]) -> None:
    _check_round_trip(TableConfig, values)


class _Color(enum.StrEnum):
    RED = "red"


class _Level(enum.IntEnum):
    LOW = 1


odd_scalars = st.one_of(
    st.booleans(), st.integers(min_value=-(10**45), max_value=10**45), st.floats(), text, st.none(), st.just(b"b")
)
odd_values = st.one_of(
    st.dictionaries(st.text(max_size=3) | st.integers(0, 3), odd_scalars, max_size=4),
    st.lists(odd_scalars | text, max_size=4),
    st.lists(text, max_size=4).map(tuple),
    st.booleans(),
    st.integers(min_value=-(10**45), max_value=10**45),
    st.floats(),
    st.decimals(allow_nan=True, places=None),
    text,
    st.sampled_from([_Color.RED, _Level.LOW, RunStatus.RUNNING, b"x", {"a": 1}, [1, "a"], {"s"}, None, object()]),
    aware,
    st.datetimes(),
)


@SETTINGS
@given(
    annotation=st.sampled_from(
        [
            *(str, int, bool, datetime, RunStatus, _Color, float, Decimal, str | None),
            *(list[str], Tags, Metrics, StringMap, JsonMap, dict[str, int], list[int]),
        ]
    ),
    as_key_string=st.booleans(),
    value=odd_values,
)
def test_field_encoders_match_encode_value_for_any_value(annotation: Any, as_key_string: bool, value: Any) -> None:
    """Whatever the value (of the annotated type or not), the field encoder answers as encode_value does."""
    encoder = field_encoder("f", annotation, as_key_string=as_key_string)
    assert outcome(encoder, value) == outcome(lambda v: encode_value(v, "f", as_key_string=as_key_string), value)


@SETTINGS
@given(aware)
def test_stored_datetime_parse_matches_parse_utc(value: datetime) -> None:
    stored = format_utc(value)
    parsed = _parse_stored_datetime(stored)
    assert parsed == parse_utc(stored)
    assert parsed.tzinfo is UTC


@pytest.mark.parametrize(
    "stored",
    [
        "2026-03-08T06:00:00Z",  # no fraction
        "2026-03-08T07:00:00.000000+01:00",  # an offset
        "2026-03-08 06:00:00.123456Z",  # a space: not the storage form, left to validation
        "2026-13-08T06:00:00.000000Z",  # no month 13
        "20260308T060000.1234567890Z",  # 27 characters, basic format
        "2026-03-08T06:00:00.000000",  # naive
        "not a timestamp at all......",
    ],
)
def test_other_datetime_texts_read_as_the_generic_path_reads_them(stored: str) -> None:
    """Non-storage datetime strings are validated (or refused) exactly as before."""
    item = PipelineRunLog.model_validate(
        {"run_id": "r", "pipeline_id": "p", "status": "RUNNING", "start_time": datetime(2026, 3, 8, tzinfo=UTC)}
    ).to_dynamodb_item()
    item["start_time"] = {"S": stored}
    expected = outcome(generic_entity, PipelineRunLog, item)
    got = outcome(PipelineRunLog.from_dynamodb_item, item)
    assert got == expected
    if got[0] == "ok":
        assert got[1].start_time.tzinfo is UTC


def test_unknown_attributes_are_not_decoded_and_wrong_types_are_refused() -> None:
    item = PipelineRunLog.model_validate(
        {"run_id": "r", "pipeline_id": "p", "status": "SUCCESS", "start_time": datetime(2026, 3, 8, tzinfo=UTC)}
    ).to_dynamodb_item()
    newer = {**item, "added_later": {"XX": "a type this version does not know"}}
    assert PipelineRunLog.from_dynamodb_item(newer) == PipelineRunLog.from_dynamodb_item(item)
    with pytest.raises(CorruptItemError) as raised:
        PipelineRunLog.from_dynamodb_items([item, {**item, "try_number": {"S": "one"}}], table="physical")
    assert raised.value.field == "try_number"
    assert raised.value.table == "physical"


def test_page_views_equal_single_views_in_any_zone() -> None:
    runs = [
        PipelineRunLog.model_validate(
            {
                "run_id": f"r{i}",
                "pipeline_id": "p",
                "status": "FAILED",
                "start_time": datetime(2026, 3, 8, i, tzinfo=UTC),
                "end_time": datetime(2026, 3, 8, i, 5, tzinfo=UTC),
                "attempts": [{"status": "SUPERSEDED", "start_time": datetime(2026, 3, 7, tzinfo=UTC)}],
            }
        )
        for i in range(3)
    ]
    for zone in (None, "UTC", "America/New_York"):
        views = PipelineRunLogView.from_entities(runs, zone)
        assert views == [PipelineRunLogView.from_entity(r, zone) for r in runs]
        assert [v.start_time for v in views] == [r.start_time for r in runs]
        assert views[0].display_timezone == (zone or "UTC")
        for view, run in zip(views, runs, strict=True):
            assert list(view.__dict__) == list(PipelineRunLogView.model_fields)
            shared = {n: v for n, v in run.__dict__.items() if n in PipelineRunLogView.model_fields}
            assert {n: v for n, v in view.__dict__.items() if n != "display_timezone"} == shared
    eastern = PipelineRunLogView.from_entities(runs, "America/New_York")[0]
    assert eastern.start_time.utcoffset() == timedelta(hours=-5)
    assert eastern.attempts[0].start_time is not None
    assert eastern.attempts[0].start_time.utcoffset() == timedelta(hours=-5)


@SETTINGS
@given(aware)
def test_format_utc_is_the_fixed_width_utc_text(value: datetime) -> None:
    expected = value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"
    assert format_utc(value) == expected
    assert format_utc(value.astimezone(UTC)) == expected


@settings(max_examples=60, deadline=None)
@given(
    chars=st.integers(min_value=90_000, max_value=410_000),
    char=st.sampled_from(["a", "é", "€", "😀"]),
    extra=st.dictionaries(st.text(min_size=1, max_size=5), st.text(max_size=5).map(lambda t: {"S": t}), max_size=3),
)
def test_item_size_check_refuses_exactly_the_items_over_the_limit(chars: int, char: str, extra: dict[str, Any]) -> None:
    """The size check's fast path never lets through an item the exact count refuses."""
    item = {**extra, "big": {"S": char * (chars // len(char.encode()))}}
    over = item_size(item) > MAX_ITEM_BYTES
    assert (outcome(check_item_size, item)[0] == "error") is over


number_texts = st.one_of(
    st.integers(min_value=-(10**40), max_value=10**40).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
    st.from_regex(r"\A0[0-9]{1,5}\Z"),
)


@SETTINGS
@given(number_texts)
def test_numbers_decode_as_decode_number_decodes_them(number: str) -> None:
    item = {"try_number": {"N": number}, "metrics": {"M": {"m": {"N": number}}}}
    expected = decode_number(number)
    decoded = model_codec(PipelineRunLog).decode(item)
    assert decoded == {"try_number": expected, "metrics": {"m": expected}}
    assert type(decoded["try_number"]) is type(expected)

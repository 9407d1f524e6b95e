"""Attribute encoding, DynamoDB's limits, the storage datetime format and timezone input rules."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_pipeline_registry.registry import (
    ConfigurationError,
    PipelineConfigUpsert,
    RunStart,
    ValidationError,
    ensure_timezone_aware,
    format_for_display,
    format_utc,
    parse_utc,
    to_user_timezone,
    to_utc,
)
from airflow_provider_pipeline_registry.registry.attributes import (
    MAX_ITEM_BYTES,
    check_item_size,
    check_key_value,
    decode_item,
    decode_number,
    encode_value,
    item_size,
)
from airflow_provider_pipeline_registry.registry.config_store import validate_dto
from airflow_provider_pipeline_registry.registry.timezones import get_timezone, localize, resolve_user_timezone

NEW_YORK = ZoneInfo("America/New_York")


def nested(levels: int, leaf: Any = 1) -> dict[str, Any]:
    """``levels`` maps inside each other, the innermost holding ``leaf``."""
    value: Any = leaf
    for _ in range(levels):
        value = {"a": value}
    return value  # type: ignore[no-any-return]


# -- encode / decode -----------------------------------------------------------------------------
def test_encode_decode_round_trip_of_every_type() -> None:
    value = {
        "s": "text",
        "i": 42,
        "neg": -7,
        "f": 1.5,
        "d": Decimal("12345678901234567890.5"),
        "b": True,
        "n": None,
        "l": [1, "two", [3.25], {"four": False}],
        "m": {"inner": {"deep": "x"}},
        "bytes": b"\x00\x01",
        "ss": {"a", "b"},
    }
    encoded = encode_value(value, "v")
    assert encoded["M"]["b"] == {"BOOL": True}
    assert encoded["M"]["n"] == {"NULL": True}
    assert encoded["M"]["ss"] == {"SS": ["a", "b"]}
    assert decode_item({"v": encoded})["v"] == value


def test_booleans_as_key_strings_and_datetimes_in_storage_format() -> None:
    assert encode_value(True, "is_active", as_key_string=True) == {"S": "true"}
    assert encode_value(False, "is_active", as_key_string=True) == {"S": "false"}
    assert encode_value(False, "flag") == {"BOOL": False}
    moment = datetime(2026, 3, 8, 1, 59, 30, tzinfo=NEW_YORK)
    assert encode_value(moment, "t") == {"S": "2026-03-08T06:59:30.000000Z"}
    assert encode_value(date(2026, 1, 2), "d") == {"S": "2026-01-02"}


def test_numbers_decode_without_losing_precision() -> None:
    assert decode_number("42") == 42
    assert isinstance(decode_number("42"), int)
    assert decode_number("0.1") == 0.1
    exact = decode_number("0.12345678901234567890123456789")
    assert exact == Decimal("0.12345678901234567890123456789")
    assert decode_number("1E+2") == 100


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, Decimal("NaN"), Decimal("Infinity")])
def test_nan_and_infinity_are_refused(bad: Any) -> None:
    with pytest.raises(ValidationError, match="finite") as info:
        encode_value({"rows": bad}, "metrics")
    assert info.value.field == "metrics.rows"


def test_numbers_with_39_digits_are_refused_38_accepted() -> None:
    assert encode_value(int("9" * 38), "n") == {"N": "9" * 38}
    with pytest.raises(ValidationError, match="38 significant digits") as info:
        encode_value(int("1" * 39), "n")
    assert info.value.field == "n"
    with pytest.raises(ValidationError, match="38 significant digits"):
        encode_value(Decimal("1." + "2" * 38), "n")


def test_numbers_outside_dynamodb_range_are_refused() -> None:
    with pytest.raises(ValidationError, match="range"):
        encode_value(1e300, "n")
    with pytest.raises(ValidationError, match="range"):
        encode_value(Decimal("1E-131"), "n")
    assert encode_value(Decimal("1E+125"), "n") == {"N": "1E+125"}
    assert encode_value(0.0, "n") == {"N": "0.0"}


def test_nesting_limit_is_dynamodbs_32_levels() -> None:
    # 31 nested maps holding a scalar: 32 levels, accepted (DynamoDB Local agrees, see integration)
    encode_value(nested(31), "v")
    encode_value(nested(30, leaf=[]), "v")
    with pytest.raises(ValidationError, match="nesting deeper than 32 levels") as info:
        encode_value(nested(32), "v")  # 33 levels
    assert info.value.field is not None
    assert info.value.field.startswith("v.a")
    with pytest.raises(ValidationError, match="nesting"):
        encode_value(nested(31, leaf={}), "v")  # an empty map at level 32 still nests too deep
    deep_list: Any = 1
    for _ in range(32):
        deep_list = [deep_list]
    with pytest.raises(ValidationError, match="nesting"):
        encode_value(deep_list, "v")


def test_unstorable_values_are_refused() -> None:
    with pytest.raises(ValidationError, match="map keys must be strings"):
        encode_value({1: "x"}, "m")
    with pytest.raises(ValidationError, match="cannot be stored"):
        encode_value(object(), "o")
    with pytest.raises(ValidationError, match="sets of strings"):
        encode_value(set(), "s")
    with pytest.raises(ValidationError, match="timezone-aware"):
        encode_value(datetime(2026, 1, 1), "t")


def test_item_size_limit() -> None:
    small = {"pk": {"S": "a"}, "blob": {"S": "x" * 1000}}
    assert item_size(small) == 2 + 1 + 4 + 1000
    check_item_size(small)
    big = {"pk": {"S": "a"}, "blob": {"S": "x" * MAX_ITEM_BYTES}}
    with pytest.raises(ValidationError, match="400 KB") as info:
        check_item_size(big)
    assert info.value.field == "blob"


def test_key_values_must_be_non_empty_and_small() -> None:
    check_key_value("pipeline_id", "p")
    with pytest.raises(ValidationError, match="must not be empty") as info:
        check_key_value("pipeline_id", "")
    assert info.value.field == "pipeline_id"
    with pytest.raises(ValidationError, match="2048-byte"):
        check_key_value("pipeline_id", "x" * 2049)
    with pytest.raises(ValidationError, match="1024-byte"):
        check_key_value("pipeline_id", "x" * 1025, is_sort_key=True)


def test_dto_refuses_empty_and_oversized_ids() -> None:
    for bad in ("", "x" * 256):
        with pytest.raises(ValidationError) as info:
            validate_dto(PipelineConfigUpsert, {"pipeline_id": bad, "name": "n"}, UTC)
        assert info.value.field == "pipeline_id"


# -- the storage datetime format -------------------------------------------------------------------
def test_storage_format_is_fixed_width_with_microseconds_and_z() -> None:
    assert format_utc(datetime(2026, 11, 25, 2, 19, 4, tzinfo=UTC)) == "2026-11-25T02:19:04.000000Z"
    assert format_utc(datetime(2026, 11, 25, 2, 19, 4, 123456, tzinfo=UTC)) == "2026-11-25T02:19:04.123456Z"
    plus_two = timezone(timedelta(hours=2))
    assert format_utc(datetime(2026, 1, 1, 1, 0, tzinfo=plus_two)) == "2025-12-31T23:00:00.000000Z"
    assert format_utc(datetime(5, 1, 1, tzinfo=UTC)) == "0005-01-01T00:00:00.000000Z"


def test_parse_utc_inverts_format_and_accepts_iso_offsets() -> None:
    moment = datetime(2026, 11, 25, 2, 19, 4, 5, tzinfo=UTC)
    assert parse_utc(format_utc(moment)) == moment
    parsed = parse_utc("2026-11-25T03:19:04+01:00")
    assert parsed == datetime(2026, 11, 25, 2, 19, 4, tzinfo=UTC)
    assert parsed.tzinfo is UTC
    with pytest.raises(ValidationError, match="ISO-8601"):
        parse_utc("yesterday", field="since")
    with pytest.raises(ValidationError, match="timezone-aware"):
        parse_utc("2026-11-25T03:19:04")


aware_datetimes = st.datetimes(
    min_value=datetime(1, 1, 2),
    max_value=datetime(9999, 12, 30),
    timezones=st.sampled_from([UTC, NEW_YORK, ZoneInfo("Asia/Kolkata"), timezone(timedelta(hours=-3))]),
    allow_imaginary=False,
)


@given(aware_datetimes, aware_datetimes)
def test_string_order_is_time_order(a: datetime, b: datetime) -> None:
    # Compare instants (UTC), not wall times: PEP 495 makes an inter-zone ``==`` False for a time
    # inside a DST fold, and an intra-zone comparison ignores ``fold`` (1:30 EDT == 1:30 EST).
    instant_a, instant_b = a.astimezone(UTC), b.astimezone(UTC)
    text_a, text_b = format_utc(a), format_utc(b)
    assert len(text_a) == len(text_b) == 27
    assert (text_a < text_b) == (instant_a < instant_b)
    assert (text_a == text_b) == (instant_a == instant_b)
    assert parse_utc(text_a) == instant_a


def test_string_order_is_time_order_inside_a_dst_fold() -> None:
    # 2026-11-01 01:30 happens twice in New York: first as EDT (fold=0), then as EST (fold=1)
    first = datetime(2026, 11, 1, 1, 30, tzinfo=NEW_YORK)
    second = first.replace(fold=1)
    assert format_utc(first) == "2026-11-01T05:30:00.000000Z"
    assert format_utc(second) == "2026-11-01T06:30:00.000000Z"
    assert format_utc(first) < format_utc(second)
    assert parse_utc(format_utc(second)) == second.astimezone(UTC)
    # what made the old test flaky: wall-time equality lies inside the fold
    assert first == second  # intra-zone: fold ignored
    assert second != second.astimezone(UTC)  # inter-zone: unequal by PEP 495


def test_whole_second_sorts_before_its_fraction() -> None:
    # Pydantic's default would render "...:04Z", which sorts after "...:04.5Z".
    whole = datetime(2026, 11, 25, 2, 19, 4, tzinfo=UTC)
    half = whole + timedelta(microseconds=500_000)
    assert format_utc(whole) < format_utc(half)


# -- timezones -------------------------------------------------------------------------------------
def test_naive_datetimes_are_refused_by_to_utc_and_ensure_aware() -> None:
    with pytest.raises(ValidationError, match="timezone-aware") as info:
        to_utc(datetime(2026, 1, 1), field="start_time")
    assert info.value.field == "start_time"
    with pytest.raises(ValidationError):
        ensure_timezone_aware(datetime(2026, 1, 1))
    assert to_utc(datetime(2026, 1, 1, tzinfo=NEW_YORK)) == datetime(2026, 1, 1, 5, tzinfo=UTC)


def test_naive_dto_input_is_read_in_the_user_timezone() -> None:
    start = validate_dto(
        RunStart, {"run_id": "r", "pipeline_id": "p", "start_time": datetime(2026, 7, 1, 12)}, NEW_YORK
    )
    assert to_utc(start.start_time) == datetime(2026, 7, 1, 16, tzinfo=UTC)


def test_dst_gap_is_a_validation_error_naming_the_field() -> None:
    gap = datetime(2026, 3, 8, 2, 30)  # clocks jump 02:00 -> 03:00 in New York
    with pytest.raises(ValidationError, match="does not exist") as info:
        validate_dto(RunStart, {"run_id": "r", "pipeline_id": "p", "start_time": gap}, NEW_YORK)
    assert info.value.field == "start_time"
    with pytest.raises(ValidationError, match="does not exist"):
        localize(gap.replace(fold=1), NEW_YORK)


def test_ambiguous_fold_is_refused_unless_fold_says_which() -> None:
    ambiguous = datetime(2026, 11, 1, 1, 30)  # 01:00-02:00 happens twice in New York
    with pytest.raises(ValidationError, match="ambiguous") as info:
        validate_dto(RunStart, {"run_id": "r", "pipeline_id": "p", "start_time": ambiguous}, NEW_YORK)
    assert info.value.field == "start_time"
    second = validate_dto(
        RunStart, {"run_id": "r", "pipeline_id": "p", "start_time": ambiguous.replace(fold=1)}, NEW_YORK
    )
    assert to_utc(second.start_time) == datetime(2026, 11, 1, 6, 30, tzinfo=UTC)  # EST, the second 01:30
    aware = validate_dto(
        RunStart, {"run_id": "r", "pipeline_id": "p", "start_time": datetime(2026, 11, 1, 5, 30, tzinfo=UTC)}, NEW_YORK
    )
    assert to_utc(aware.start_time) == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)


def test_display_format_puts_utc_beside_local_time() -> None:
    moment = datetime(2026, 3, 8, 6, 59, 30, tzinfo=UTC)
    assert format_for_display(moment, "America/New_York") == "2026-03-08 01:59:30 EST (06:59:30 UTC)"
    after_change = moment + timedelta(minutes=1)
    assert format_for_display(after_change, "America/New_York") == "2026-03-08 03:00:30 EDT (07:00:30 UTC)"
    assert format_for_display(moment, "UTC") == "2026-03-08 06:59:30 UTC"
    assert format_for_display(datetime(2026, 1, 1, 23, tzinfo=UTC), "Asia/Kolkata") == (
        "2026-01-02 04:30:00 IST (2026-01-01 23:00:00 UTC)"
    )
    assert format_for_display(None) == "-"
    assert to_user_timezone(moment, "Europe/Paris").utcoffset() == timedelta(hours=1)


def test_timezone_resolution_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DYNAMODB_USER_TIMEZONE", "Asia/Kolkata")
    assert resolve_user_timezone(None, "Europe/Paris") == ZoneInfo("Europe/Paris")
    assert resolve_user_timezone("America/New_York", "Europe/Paris") == NEW_YORK
    assert resolve_user_timezone(None, "") == ZoneInfo("Asia/Kolkata")
    monkeypatch.delenv("DYNAMODB_USER_TIMEZONE")
    assert resolve_user_timezone() is UTC
    with pytest.raises(ConfigurationError, match="unknown timezone"):
        get_timezone("Mars/Olympus")


def test_duration_and_staleness_count_real_time_across_dst() -> None:
    from airflow_provider_pipeline_registry.registry import PipelineRunLogView

    start = datetime(2026, 3, 8, 6, 59, 30, tzinfo=UTC).astimezone(NEW_YORK)  # 01:59:30 EST
    end = datetime(2026, 3, 8, 7, 0, 30, tzinfo=UTC).astimezone(NEW_YORK)  # 03:00:30 EDT
    view = PipelineRunLogView(run_id="r", pipeline_id="p", status="SUCCESS", start_time=start, end_time=end)
    assert view.duration_seconds == 60
    running = PipelineRunLogView(run_id="r", pipeline_id="p", status="RUNNING", start_time=start)
    assert not running.is_stale(timedelta(minutes=2), now=end)
    assert running.is_stale(timedelta(seconds=59), now=end)

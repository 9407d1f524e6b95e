"""The one grammar of user-given times and durations (registry/time_inputs.py), as a table: every
form the README documents for the CLI, the UI/API, the sensor and the trigger, and the errors."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from airflow_provider_pipeline_registry.registry.errors import ValidationError
from airflow_provider_pipeline_registry.registry.time_inputs import (
    TimeInputError,
    duration_input,
    is_relative_time,
    time_input,
    time_input_text,
)

NOW = datetime(2026, 3, 8, 12, 0, tzinfo=UTC)  # 13:00 in Paris (CET)
PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")

TIMES: list[tuple[Any, Any, datetime | None]] = [
    # (value, timezone, expected UTC)
    (None, PARIS, None),
    ("", PARIS, None),
    ("   ", PARIS, None),
    ("30m", PARIS, NOW - timedelta(minutes=30)),
    ("2h", PARIS, NOW - timedelta(hours=2)),
    ("1.5h", PARIS, NOW - timedelta(minutes=90)),
    ("3d", PARIS, NOW - timedelta(days=3)),
    ("1w", PARIS, NOW - timedelta(weeks=1)),
    ("45S", PARIS, NOW - timedelta(seconds=45)),
    (" 2 h ", PARIS, NOW - timedelta(hours=2)),
    ("1h30m", PARIS, NOW - timedelta(minutes=90)),
    ("now", PARIS, NOW),
    ("NOW", None, NOW),
    ("today", PARIS, datetime(2026, 3, 7, 23, tzinfo=UTC)),  # midnight in Paris
    ("today", NEW_YORK, datetime(2026, 3, 8, 5, tzinfo=UTC)),  # midnight EST (DST starts at 02:00)
    ("2026-03-08T10:00:00Z", PARIS, datetime(2026, 3, 8, 10, tzinfo=UTC)),
    ("2026-03-08T10:00:00-05:00", PARIS, datetime(2026, 3, 8, 15, tzinfo=UTC)),
    ("2026-03-08T10:00:00-05:00", None, datetime(2026, 3, 8, 15, tzinfo=UTC)),
    ("2026-03-08T10:00", PARIS, datetime(2026, 3, 8, 9, tzinfo=UTC)),  # naive: read in Paris (CET)
    ("2026-07-01", PARIS, datetime(2026, 6, 30, 22, tzinfo=UTC)),  # a date: midnight in Paris (CEST)
    ("2026-11-25T02:19:04.123456Z", UTC, datetime(2026, 11, 25, 2, 19, 4, 123456, tzinfo=UTC)),  # storage text
    (datetime(2026, 3, 8, 10, 0), PARIS, datetime(2026, 3, 8, 9, tzinfo=UTC)),
    (datetime(2026, 3, 8, 10, 0, tzinfo=NEW_YORK), PARIS, datetime(2026, 3, 8, 14, tzinfo=UTC)),
    (date(2026, 7, 1), PARIS, datetime(2026, 6, 30, 22, tzinfo=UTC)),
    (datetime(2026, 11, 1, 1, 30, fold=1), NEW_YORK, datetime(2026, 11, 1, 6, 30, tzinfo=UTC)),  # second 01:30
]


@pytest.mark.parametrize(("value", "tz", "expected"), TIMES, ids=[repr(row[0]) + f"@{row[1]}" for row in TIMES])
def test_time_input(value: Any, tz: Any, expected: datetime | None) -> None:
    parsed = time_input(value, field="since", tz=tz, now=NOW)
    assert parsed == expected
    if parsed is not None:
        assert parsed.tzinfo is UTC


BAD_TIMES: list[tuple[Any, Any, str]] = [
    # (value, timezone, the problem the message names)
    ("yesterday", PARIS, "is not a time: expected an ISO-8601 datetime"),
    ("2h ago", PARIS, "is not a time"),
    ("-3d", PARIS, "is not a time"),
    ("2026-13-01", PARIS, "is not a time"),
    ("3x", PARIS, "is not a time"),
    (42, PARIS, "is not a time"),
    ("2026-03-29T02:30", PARIS, "does not exist in Europe/Paris"),  # DST gap
    ("2026-11-01T01:30", NEW_YORK, "is ambiguous in America/New_York"),  # DST fold
    ("2026-03-08T10:00", None, "has no timezone here: give an offset or Z"),
    (datetime(2026, 3, 8, 10), None, "has no timezone here"),
    ("today", None, "needs a timezone here"),
    ("99999999d", PARIS, "reaches before the year 1"),
]


@pytest.mark.parametrize(("value", "tz", "problem"), BAD_TIMES, ids=[repr(row[0]) for row in BAD_TIMES])
def test_bad_time_is_a_typed_error_naming_field_and_value(value: Any, tz: Any, problem: str) -> None:
    with pytest.raises(TimeInputError) as info:
        time_input(value, field="until", tz=tz, now=NOW)
    error = info.value
    assert isinstance(error, ValidationError)
    assert error.field == "until"
    assert error.value == value
    assert problem in error.problem
    assert str(error).startswith(f"until: {value!r} ")
    assert error.errors == [{"field": "until", "message": str(error)}]


DURATIONS: list[tuple[Any, timedelta | None]] = [
    (None, None),
    ("", None),
    (timedelta(minutes=5), timedelta(minutes=5)),
    (90, timedelta(seconds=90)),
    (1.5, timedelta(seconds=1.5)),
    ("90", timedelta(seconds=90)),
    ("15m", timedelta(minutes=15)),
    ("1h30m", timedelta(minutes=90)),
    ("2D", timedelta(days=2)),
    (0, timedelta(0)),
]


@pytest.mark.parametrize(("value", "expected"), DURATIONS, ids=[repr(row[0]) for row in DURATIONS])
def test_duration_input(value: Any, expected: timedelta | None) -> None:
    assert duration_input(value, field="stale_after") == expected


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("soon", "is not a duration"),
        (True, "is not a duration"),
        ([5], "is not a duration"),
        (-1, "is negative"),
        (timedelta(seconds=-1), "is negative"),
        (1e300, "is out of range"),
    ],
)
def test_bad_duration_is_a_typed_error(value: Any, problem: str) -> None:
    with pytest.raises(TimeInputError) as info:
        duration_input(value, field="stale_after")
    assert info.value.field == "stale_after"
    assert problem in info.value.problem


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, None),
        (" 2H ", "2h"),
        ("today", "today"),
        ("2026-03-08T10:00:00-05:00", "2026-03-08T15:00:00.000000Z"),
        (datetime(2026, 3, 8, 15, tzinfo=UTC), "2026-03-08T15:00:00.000000Z"),
    ],
)
def test_time_input_text_keeps_relative_times_for_later(value: Any, text: str | None) -> None:
    """What a trigger serializes: a relative bound stays relative, an absolute one is UTC text."""
    assert time_input_text(value, field="since", tz=None) == text
    assert is_relative_time(value) == (text is not None and not text.endswith("Z"))

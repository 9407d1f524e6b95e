"""Time options and page tokens of ``runs list`` (no DynamoDB needed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from airflow_provider_pipeline_registry.cli.commands.runs import decode_cli_token, encode_cli_token
from airflow_provider_pipeline_registry.cli.times import parse_time
from airflow_provider_pipeline_registry.registry.errors import ValidationError

NOW = datetime(2026, 3, 8, 12, 0, tzinfo=UTC)
PARIS = ZoneInfo("Europe/Paris")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", NOW - timedelta(minutes=30)),
        ("2h", NOW - timedelta(hours=2)),
        ("1.5h", NOW - timedelta(minutes=90)),
        ("3d", NOW - timedelta(days=3)),
        ("1w", NOW - timedelta(weeks=1)),
        ("45S", NOW - timedelta(seconds=45)),
        ("2026-03-08T10:00:00Z", datetime(2026, 3, 8, 10, tzinfo=UTC)),
        ("2026-03-08T10:00:00-05:00", datetime(2026, 3, 8, 15, tzinfo=UTC)),
        ("2026-03-08T10:00", datetime(2026, 3, 8, 9, tzinfo=UTC)),  # naive: read in Paris (CET)
        ("2026-07-01", datetime(2026, 6, 30, 22, tzinfo=UTC)),  # midnight in Paris (CEST)
    ],
)
def test_parse_time(text: str, expected: datetime) -> None:
    parsed = parse_time(text, PARIS, field="since", now=NOW)
    assert parsed == expected
    assert parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize("text", ["yesterday", "2h ago", "-3d", "2026-13-01", "2026-03-29T02:30"])
def test_parse_time_rejects(text: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_time(text, PARIS, field="since", now=NOW)
    assert info.value.field == "since"


def test_page_token_round_trip_keeps_the_window_to_the_microsecond() -> None:
    since = datetime(2026, 3, 7, 12, 0, 0, 123457, tzinfo=UTC)
    token = encode_cli_token("eyJrIjoxfQ", since, None)
    assert decode_cli_token(token) == ("eyJrIjoxfQ", since, None)


@pytest.mark.parametrize("token", ["garbage", "a.b.c", ".1.2", "x.1.2.3"])
def test_malformed_page_token(token: str) -> None:
    with pytest.raises(ValidationError, match="page token is malformed"):
        decode_cli_token(token)

"""Page tokens of ``runs list`` (no DynamoDB needed). The time options' grammar is the core's
(registry/time_inputs.py), tested in tests/unit/test_time_inputs.py."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from airflow_provider_pipeline_registry.cli.commands.runs import decode_cli_token, encode_cli_token
from airflow_provider_pipeline_registry.registry.errors import ValidationError


def test_page_token_round_trip_keeps_the_window_to_the_microsecond() -> None:
    since = datetime(2026, 3, 7, 12, 0, 0, 123457, tzinfo=UTC)
    token = encode_cli_token("eyJrIjoxfQ", since, None)
    assert decode_cli_token(token) == ("eyJrIjoxfQ", since, None)


@pytest.mark.parametrize("token", ["garbage", "a.b.c", ".1.2", "x.1.2.3"])
def test_malformed_page_token(token: str) -> None:
    with pytest.raises(ValidationError, match="page token is malformed"):
        decode_cli_token(token)

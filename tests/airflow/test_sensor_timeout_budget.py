"""The sensor's timeout budget across retries: the first poke's time in the task state store."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from airflow_provider_pipeline_registry.sensors.timeout_budget import (
    FIRST_POKE_KEY,
    first_poke_at,
    remaining_seconds,
    series_of,
)

T0 = datetime(2026, 3, 8, 6, 59, 30, 123456, tzinfo=UTC)
KEEP = timedelta(days=1)


class FakeStore:
    """The two methods of Airflow 3.3's TaskStateStoreAccessor the budget uses."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.retentions: list[timedelta | None] = []

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def set(self, key: str, value: Any, *, retention: timedelta | None = None) -> None:
        self.values[key] = value
        self.retentions.append(retention)


def context(store: Any, max_tries: int) -> dict[str, Any]:
    return {"task_state_store": store, "ti": SimpleNamespace(max_tries=max_tries)}


def test_first_try_stores_its_first_poke() -> None:
    store = FakeStore()
    assert first_poke_at(context(store, max_tries=2), retries=2, now=T0, keep_for=KEEP) == T0
    assert store.values[FIRST_POKE_KEY] == {"series": 1, "at": "2026-03-08T06:59:30.123456Z"}
    assert store.retentions == [KEEP]


def test_a_retry_of_the_same_series_gets_the_stored_first_poke() -> None:
    store = FakeStore()
    first_poke_at(context(store, max_tries=2), retries=2, now=T0, keep_for=KEEP)
    later = T0 + timedelta(minutes=5)
    assert first_poke_at(context(store, max_tries=2), retries=2, now=later, keep_for=KEEP) == T0


def test_a_cleared_task_starts_a_new_series_and_a_fresh_budget() -> None:
    store = FakeStore()
    first_poke_at(context(store, max_tries=2), retries=2, now=T0, keep_for=KEEP)
    later = T0 + timedelta(hours=1)
    # clearing raises max_tries (try_number + retries): the first try of the new series is 4
    assert first_poke_at(context(store, max_tries=5), retries=2, now=later, keep_for=KEEP) == later
    assert store.values[FIRST_POKE_KEY]["series"] == 4


def test_without_a_state_store_a_try_counts_from_now() -> None:
    assert first_poke_at({"ti": SimpleNamespace(max_tries=1)}, retries=1, now=T0, keep_for=KEEP) == T0
    assert first_poke_at({}, retries=0, now=T0, keep_for=KEEP) == T0


def test_an_unreachable_store_is_logged_and_the_try_counts_from_now(caplog: pytest.LogCaptureFixture) -> None:
    class BrokenStore(FakeStore):
        def get(self, key: str, default: Any = None) -> Any:
            raise RuntimeError("supervisor unavailable")

    with caplog.at_level(logging.WARNING):
        assert first_poke_at(context(BrokenStore(), max_tries=1), retries=0, now=T0, keep_for=KEEP) == T0
    assert "could not use the task state store" in caplog.text


def test_series_and_remaining_budget() -> None:
    assert series_of(SimpleNamespace(max_tries=3), 3) == 1
    assert series_of(SimpleNamespace(), 3) is None
    assert remaining_seconds(60, T0, T0 + timedelta(seconds=45)) == 15
    assert remaining_seconds(60, T0, T0 + timedelta(seconds=75)) == 0

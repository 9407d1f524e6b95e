"""The bounded token history's rules (registry/write_tokens.py), without DynamoDB."""

from __future__ import annotations

from airflow_provider_pipeline_registry.registry.write_tokens import (
    KEEP,
    TRIM_ABOVE,
    WRITE_TOKENS,
    applied,
    carried,
    new_write_token,
    trimmed,
)


def stored_with(versions: range) -> dict[str, object]:
    return {"version": versions[-1], WRITE_TOKENS: {f"t{v:03d}": v for v in versions}}


def test_a_put_carries_the_newest_entries_it_read_plus_its_own() -> None:
    history = carried(stored_with(range(1, 31)), "mine", 31)
    assert len(history) == KEEP
    assert history["mine"] == 31
    assert sorted(history.values()) == list(range(31 - KEEP + 1, 32))


def test_a_map_is_trimmed_to_the_newest_only_above_the_bound() -> None:
    assert trimmed(stored_with(range(1, TRIM_ABOVE + 1))) is None
    kept = trimmed(stored_with(range(1, TRIM_ABOVE + 2)))
    assert kept is not None
    assert sorted(kept.values()) == list(range(TRIM_ABOVE + 2 - KEEP, TRIM_ABOVE + 2))


def test_applied_reads_what_a_token_produced_and_nothing_for_items_without_a_map() -> None:
    assert applied(stored_with(range(5, 9)), "t006") == 6
    assert applied(stored_with(range(5, 9)), "t004") is None
    assert applied({"version": 3, "write_token": "t003"}, "t003") is None  # an older release's item
    assert applied(None, "t003") is None


def test_tokens_are_fresh() -> None:
    tokens = {new_write_token() for _ in range(1000)}
    assert len(tokens) == 1000
    assert all(len(t) == 16 for t in tokens)

"""The bounded token history's rules (registry/write_tokens.py), without DynamoDB."""

from __future__ import annotations

from airflow_provider_pipeline_registry.registry.write_tokens import (
    CREATE_TOKEN,
    KEEP,
    MAX_ATTEMPT_TOKENS,
    TRIM_ABOVE,
    WRITE_TOKENS,
    applied,
    attempt_applied,
    carried,
    new_write_token,
    same_creation,
    trimmed,
    with_attempt_token,
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


def test_run_write_tokens_order_by_their_fixed_width_timestamps() -> None:
    """The runs' batch records ``updated_at`` strings: the newest are the ones carried."""
    stamps = [f"2026-03-08T06:00:{s:02d}.000000Z" for s in range(30)]
    carried_map = carried(
        {WRITE_TOKENS: {f"t{i:02d}": v for i, v in enumerate(stamps)}}, "ours", "2026-03-09T00:00:00.000000Z"
    )
    assert sorted(carried_map) == sorted([f"t{i:02d}" for i in range(30 - (KEEP - 1), 30)] + ["ours"])


def test_attempt_tokens_are_bounded_and_recognise_a_recent_attempt() -> None:
    tokens: list[str] = []
    for k in range(MAX_ATTEMPT_TOKENS + 3):
        tokens = with_attempt_token(tokens, f"a{k}")
    assert tokens == [f"a{k}" for k in range(3, MAX_ATTEMPT_TOKENS + 3)]
    assert attempt_applied(tokens, "a3")
    assert not attempt_applied(tokens, "a2")
    assert with_attempt_token(tokens, "a5")[-1] == "a5"  # moved to the newest, not duplicated
    assert len(with_attempt_token(tokens, "a5")) == MAX_ATTEMPT_TOKENS


def test_same_creation_tells_a_run_created_again() -> None:
    assert same_creation({CREATE_TOKEN: "x"}, {CREATE_TOKEN: "x", "status": "SUCCESS"})
    assert not same_creation({CREATE_TOKEN: "x"}, {CREATE_TOKEN: "y"})
    assert not same_creation({CREATE_TOKEN: "x"}, None)

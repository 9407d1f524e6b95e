"""A short bounded history of recent write tokens on an item: recognising a replayed write.

botocore retries a call whose response was lost although DynamoDB had applied it; another writer
may have written in between. Comparing the replay's token with the item's *last* token is not
enough then. Every write stores its fresh token in the item's ``write_tokens`` map, with the
result it produced (for config items: the ``version`` it wrote)::

    write_tokens = {"3f9a0c...": 7, "b41c2e...": 8, ...}

and its condition refuses a second application of that token (``not_applied``: the map has no
entry of that name). When the condition fails and the stored item's map holds our token
(``applied``), the write WAS applied; the recorded result tells what it produced, even when later
writes followed. The map keeps at least the ``KEEP`` newest entries (ordered by their recorded
result) and at most ``TRIM_ABOVE``: a writer that knows the map (it read the item, or the write
returned it) writes it back trimmed (``carried``, ``trimmed``).

A write can add its entry in one request: ``record(token, result)`` is a ``set_nested`` entry of
an :class:`~.conditions.Update`; ``result`` may be :class:`~.conditions.Plus` (e.g.
``Plus("version", 1)``: the version this write produces, computed by DynamoDB from the stored one,
for a write that does not know it). A nested SET needs the map to exist: ``has_history()`` in the
condition; an item without it (a new item, or one written by an older release) is written with
the whole map (``first_history``) under ``no_history()``.

Used by the config tables (``config_store``); the run logs can use the same functions with their
own result values (any values that order by recency, e.g. fixed-width UTC timestamps).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from .conditions import Condition, NestedNotExists, exists, not_exists

#: the stored attribute: a map token -> what that write produced
WRITE_TOKENS = "write_tokens"
#: at least this many of the newest tokens are kept
KEEP = 8
#: a map longer than this is trimmed back to ``KEEP`` by the writer that sees it (one extra
#: request every ``TRIM_ABOVE - KEEP + 1`` writes of an item; the map stays under ~600 bytes)
TRIM_ABOVE = 24


def new_write_token() -> str:
    """A fresh token for one write: 64 random bits, 16 hex characters."""
    return secrets.token_hex(8)


def not_applied(token: str) -> Condition:
    """The stored item holds no entry for ``token``: this write was not applied yet."""
    return NestedNotExists((WRITE_TOKENS, token))


def has_history() -> Condition:
    """The stored item has a token map (a nested SET of one entry needs it)."""
    return exists(WRITE_TOKENS)


def no_history() -> Condition:
    """The stored item (if any) has no token map yet."""
    return not_exists(WRITE_TOKENS)


def record(token: str, result: Any) -> dict[tuple[str, ...], Any]:
    """The ``set_nested`` entry adding ``token`` -> ``result`` to an existing map."""
    return {(WRITE_TOKENS, token): result}


def history(stored: Mapping[str, Any] | None) -> dict[str, Any]:
    """The token map of a decoded stored item (empty without one, or when it is not a map)."""
    found = (stored or {}).get(WRITE_TOKENS)
    return dict(found) if isinstance(found, Mapping) else {}


def applied(stored: Mapping[str, Any] | None, token: str) -> Any | None:
    """What the write of ``token`` produced, if the stored item records it; else None."""
    return history(stored).get(token)


def _newest(entries: Mapping[str, Any], count: int) -> dict[str, Any]:
    def order(item: tuple[str, Any]) -> tuple[int, Any]:
        value = item[1]
        return (1, value) if isinstance(value, int | float) else (0, str(value))

    return dict(sorted(entries.items(), key=order)[-count:]) if count > 0 else {}


def first_history(token: str, result: Any) -> dict[str, Any]:
    """The whole map for an item that has none yet."""
    return {token: result}


def carried(stored: Mapping[str, Any] | None, token: str, result: Any) -> dict[str, Any]:
    """The map a writer that read ``stored`` writes whole (a put): the ``KEEP - 1`` newest
    entries it read, plus its own."""
    return {**_newest(history(stored), KEEP - 1), token: result}


def trimmed(stored: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The ``KEEP`` newest entries when the map holds more than ``TRIM_ABOVE``; else None."""
    entries = history(stored)
    return _newest(entries, KEEP) if len(entries) > TRIM_ABOVE else None

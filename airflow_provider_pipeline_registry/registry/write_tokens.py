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

Used by every conditional batch (:mod:`.conditional_batch`: the config tables' and the run logs'
``batch_upsert``) and the config tables' single writes (``config_store``); the run logs' batch
records each put's ``updated_at`` (fixed-width UTC timestamps order by recency).

The run lifecycle writes (``run_logs/commands.py``) recognise themselves with two more tokens,
kept here so that the concept has one home:

* ``attempt_tokens``: the attempt ids that the last :data:`MAX_ATTEMPT_TOKENS` starts, joins and
  claims wrote onto the run (the attempt id *is* the write's token). A start replayed after a
  driver claimed its attempt, a newer try replaced it or the run ended finds its id there and
  reports the stored run instead of refusing a start it made (``with_attempt_token``,
  ``attempt_applied``).
* ``create_token``: written once by the write that creates the run item (a start, or a batch put
  of a new run) and carried over by every later write. A delete replayed after another writer
  created the run again sees another token and leaves that run alone (``same_creation``).

An end needs no token of its own: the bounded ``attempts`` history records each replaced
attempt's end status, so an end replayed after a newer attempt began finds itself there.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Mapping, Sequence
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


# -- run logs: attempts and incarnations -------------------------------------------------------
#: stored run attribute (no model field): the token of the write that created the run item
CREATE_TOKEN = "create_token"
#: stored run attribute (model field ``attempt_tokens``): ids of the recent attempts written onto it
ATTEMPT_TOKENS = "attempt_tokens"
#: attempt ids kept (oldest dropped first); as many as the attempt history keeps
MAX_ATTEMPT_TOKENS = 10


def new_create_token() -> str:
    """A fresh ``create_token`` for the write that creates a run item (an opaque uuid)."""
    return uuid.uuid4().hex


def with_attempt_token(tokens: Sequence[str], attempt_id: str) -> list[str]:
    """``tokens`` with ``attempt_id`` appended, bounded to the newest :data:`MAX_ATTEMPT_TOKENS`."""
    return [*(t for t in tokens if t != attempt_id), attempt_id][-MAX_ATTEMPT_TOKENS:]


def attempt_applied(tokens: Sequence[str], attempt_id: str) -> bool:
    """The write that opened or claimed ``attempt_id`` was applied (it is in the run's recent tokens)."""
    return attempt_id in tokens


def same_creation(seen: Mapping[str, Any] | None, current: Mapping[str, Any] | None) -> bool:
    """``current`` (decoded stored values) is the very run item ``seen`` was, written since: not
    one created again after a delete."""
    return seen is not None and current is not None and seen.get(CREATE_TOKEN) == current.get(CREATE_TOKEN)

"""How a replayed run-log write recognises its own applied write beside other writers.

botocore replays a write whose response was lost; another writer may have written in between,
so comparing with the item's *last* state is not enough. Run logs keep, as the config tables do
(``registry/config_store.py``), a short bounded history of the tokens of recent writes:

* ``attempt_tokens``: the attempt ids that the last :data:`MAX_ATTEMPT_TOKENS` starts, joins and
  claims wrote onto the run (the attempt id *is* the write's token). A start replayed after a
  driver claimed its attempt, a newer try replaced it or the run ended finds its id there and
  reports the stored run instead of refusing a start it made.
* ``create_token``: written once by the write that creates the run item and carried over by
  every later write (a batch put too). A delete replayed after another writer created the run
  again sees another token and leaves that run alone.

An end needs no token of its own: the bounded ``attempts`` history records each replaced
attempt's end status, so an end replayed after a newer attempt began finds itself there.
These few functions are the whole mechanism, so it can be swapped for a shared one.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

#: stored attribute (no model field): the token of the write that created the run item
CREATE_TOKEN = "create_token"
#: stored attribute (model field ``attempt_tokens``): ids of the recent attempts written onto the run
ATTEMPT_TOKENS = "attempt_tokens"
#: attempt ids kept (oldest dropped first); as many as the attempt history keeps
MAX_ATTEMPT_TOKENS = 10


def new_token() -> str:
    """A fresh token for one write."""
    return uuid.uuid4().hex


def with_token(history: Sequence[str], token: str) -> list[str]:
    """``history`` with ``token`` appended, bounded to the newest :data:`MAX_ATTEMPT_TOKENS`."""
    return [*(t for t in history if t != token), token][-MAX_ATTEMPT_TOKENS:]


def was_applied(history: Sequence[str], token: str) -> bool:
    """The write carrying ``token`` was applied (it is in the item's recent history)."""
    return token in history


def same_creation(seen: Mapping[str, Any] | None, current: Mapping[str, Any] | None) -> bool:
    """``current`` (decoded stored values) is the very run item ``seen`` was, written since: not
    one created again after a delete."""
    return seen is not None and current is not None and seen.get(CREATE_TOKEN) == current.get(CREATE_TOKEN)

"""The ``table_watermarks`` table: one table's committed watermark and its history.

Partition key ``table_id``, sort key ``entry``:

* ``entry = "state"``: the committed watermark (``value``, ``watermark_type``), ``seq`` (how many
  commits and rewinds moved it: every commit is conditional on the ``seq`` the run read, so a
  rewind back to the same value is still seen), who moved it last (``run_id``/``pipeline_id`` of
  a commit, or ``actor`` of a rewind) and when (``at``);
* ``entry = "history#<seq, 12 digits>"``: one commit or rewind (``kind``), ``from_value`` ->
  ``to_value``, its run or its ``actor`` and ``reason``; a rewind to a run names it
  (``to_run_id``, ``position``). Written in the same transaction as the state, conditional on
  not existing: never twice.

A table without a state item has never been committed: its low bound is the table config's
``watermark_value`` (the declared starting point; None by default).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from ..model import RegistryModel

STATE_ENTRY = "state"
HISTORY_PREFIX = "history#"


def history_entry(seq: int) -> str:
    """The sort key of history entry ``seq`` (fixed width: string order is seq order)."""
    return f"{HISTORY_PREFIX}{seq:012d}"


class WatermarkMove(StrEnum):
    """What moved a watermark."""

    #: a run's SUCCESS end committed it
    COMMIT = "commit"
    #: ``rewind_watermark`` moved it (back, or to any value)
    REWIND = "rewind"


class RewindPosition(StrEnum):
    """Where a rewind to a run puts the watermark."""

    #: the low bound that run read (its commit's ``from``): the next run reprocesses what it read
    BEFORE = "before"
    #: the value that run committed (its commit's ``to``)
    AFTER = "after"


class WatermarkRecord(RegistryModel):
    """A stored item of ``table_watermarks`` (the state, or one history entry)."""

    class Meta:
        table = "table_watermarks"
        partition_key = "table_id"
        sort_key = "entry"

    table_id: str
    entry: str
    seq: int = Field(ge=0)
    kind: str | None = None
    watermark_type: str | None = None
    value: str | None = None
    from_value: str | None = None
    to_value: str | None = None
    run_id: str | None = None
    pipeline_id: str | None = None
    at: datetime | None = None
    actor: str | None = None
    reason: str | None = None
    to_run_id: str | None = None
    position: str | None = None
    #: the token of the write that made this item (a rewind replayed after a lost response finds it)
    write_token: str | None = None


class WatermarkState(BaseModel):
    """A table's committed watermark: ``value`` (None: never committed and no starting point)."""

    model_config = ConfigDict(frozen=True)

    table_id: str
    value: str | None
    watermark_type: str
    #: commits and rewinds so far (0: never moved; ``value`` is then the config's starting point)
    seq: int = 0
    #: the run whose SUCCESS committed the value (None after a rewind or before any commit)
    run_id: str | None = None
    pipeline_id: str | None = None
    #: who rewound it last (None when a commit moved it last)
    rewound_by: str | None = None
    at: datetime | None = None


class WatermarkEntry(BaseModel):
    """One move of a table's watermark, as listed by ``watermark_history``."""

    model_config = ConfigDict(frozen=True)

    table_id: str
    seq: int
    kind: WatermarkMove
    from_value: str | None
    to_value: str | None
    at: datetime
    run_id: str | None = None
    pipeline_id: str | None = None
    actor: str | None = None
    reason: str | None = None
    to_run_id: str | None = None
    position: RewindPosition | None = None

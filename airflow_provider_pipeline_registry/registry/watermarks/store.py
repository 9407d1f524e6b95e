"""Reading, committing and rewinding watermarks (the ``table_watermarks`` table).

* :meth:`WatermarkStore.snapshot` -- what a run reads when it starts: each active table of the
  pipeline with its committed value and ``seq`` (stored on the run item by the start or join).
* :meth:`WatermarkStore.commit_actions` -- the two actions per table that a SUCCESS end adds to its
  ``TransactWriteItems``: the state, conditional on the ``seq`` the run read, and a new history
  entry, conditional on not existing.
* :meth:`WatermarkStore.rewind` -- the same two actions for a rewind, in a transaction of their own.
"""

from __future__ import annotations

import getpass
import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ..conditions import Condition, KeyCondition, Update, eq, not_exists
from ..config import DynamoDBConfig
from ..errors import ConflictError, ItemNotFoundError, RegistryValidationError, TableNotFoundError
from ..gateway import DynamoDBClient, TableGateway, TransactAction, create_table_gateway, transact_write
from ..keys import build_model_key
from ..table_config.models import TableConfig
from ..text_limits import truncate_text
from ..timezones import utc_now
from ..write_tokens import new_write_token
from .models import (
    HISTORY_PREFIX,
    STATE_ENTRY,
    RewindPosition,
    WatermarkEntry,
    WatermarkMove,
    WatermarkRecord,
    WatermarkState,
    history_entry,
)
from .values import WatermarkType, normalize_watermark

log = logging.getLogger(__name__)

#: the most tables one SUCCESS end commits (two actions each, plus the run, in one transaction)
MAX_COMMITTED_TABLES = 49
#: rounds a rewind re-reads a state that moved under it before giving up
_REWIND_ROUNDS = 5
_MAX_REASON_BYTES = 1024


def read_entry(value: str | None, seq: int, kind: str, column: str | None) -> dict[str, Any]:
    """One table of a run's snapshot as stored on the run item (``watermarks.<table_id>``)."""
    entry: dict[str, Any] = {"from": value, "seq": seq, "type": kind}
    if column:
        entry["column"] = column
    return entry


class WatermarkStore:
    """The watermark table, and the table configs that declare each watermark's type."""

    def __init__(self, config: DynamoDBConfig, client: DynamoDBClient | None = None) -> None:
        self.config = config
        self.gateway: TableGateway = create_table_gateway(config, WatermarkRecord, client)
        self.table_gateway: TableGateway = create_table_gateway(config, TableConfig, self.gateway.client)

    def key(self, table_id: str, entry: str = STATE_ENTRY) -> dict[str, Any]:
        return build_model_key(WatermarkRecord, table_id=table_id, entry=entry)

    # -- reads -------------------------------------------------------------------------------
    def _table(self, table_id: str) -> TableConfig:
        raw = self.table_gateway.get_item(build_model_key(TableConfig, table_id=table_id), consistent=True)
        if raw is None:
            raise ItemNotFoundError(
                f"table {table_id!r} has no table config",
                table=self.table_gateway.table_name,
                key={"table_id": table_id},
            )
        return TableConfig.from_dynamodb_item(raw, table=self.table_gateway.table_name)

    def _state_record(self, table_id: str) -> WatermarkRecord | None:
        raw = self.gateway.get_item(self.key(table_id), consistent=True)
        return WatermarkRecord.from_dynamodb_item(raw, table=self.gateway.table_name) if raw else None

    def state(self, table_id: str) -> WatermarkState:
        """The committed watermark of ``table_id`` (strongly consistent)."""
        table = self._table(table_id)
        return _state_of(table, self._state_record(table_id))

    def pipeline_states(self, pipeline_id: str) -> dict[str, tuple[TableConfig, WatermarkState]]:
        """Each active table of ``pipeline_id`` with its committed watermark.

        The tables come from the pipeline index (eventually consistent, like any GSI); their
        states from one consistent BatchGetItem per 100 tables."""
        condition = KeyCondition("pipeline_id", pipeline_id, index_name="pipeline_tables_index")
        tables = [
            TableConfig.from_dynamodb_item(raw, table=self.table_gateway.table_name)
            for raw in self.table_gateway.iterate(
                lambda start: self.table_gateway.query(
                    condition, start_key=start, filter_condition=eq("is_active", True)
                )
            )
        ]
        if not tables:
            return {}
        try:
            raws = self.gateway.batch_get([self.key(t.table_id) for t in tables], consistent=True)
        except TableNotFoundError:
            # a deployment upgraded without create_tables: nothing was ever committed, so every
            # table reads its starting value; committing will name the missing table
            log.warning(
                "table %s does not exist: watermarks read as never committed; create it with create_tables "
                "(`pipeline-registry tables create`)",
                self.gateway.table_name,
            )
            raws = []
        states = {r.table_id: r for r in WatermarkRecord.from_dynamodb_items(raws, table=self.gateway.table_name)}
        return {t.table_id: (t, _state_of(t, states.get(t.table_id))) for t in sorted(tables, key=lambda t: t.table_id)}

    def snapshot(self, pipeline_id: str) -> dict[str, dict[str, Any]]:
        """``{table_id: read entry}`` of each active table of ``pipeline_id``: what a starting run reads."""
        return {
            table_id: read_entry(state.value, state.seq, state.watermark_type, table.watermark_column)
            for table_id, (table, state) in self.pipeline_states(pipeline_id).items()
        }

    def history(self, table_id: str, *, limit: int | None = None, newest_first: bool = False) -> list[WatermarkEntry]:
        """Every commit and rewind of ``table_id`` (oldest first unless ``newest_first``)."""
        condition = KeyCondition(
            "table_id", table_id, sort_name="entry", sort_op="begins_with", sort_values=(HISTORY_PREFIX,)
        )
        entries: list[WatermarkEntry] = []
        start: Any = None
        while True:
            page = self.gateway.query(
                condition,
                limit=None if limit is None else limit - len(entries),
                start_key=start,
                newest_first=newest_first,
                consistent=True,
            )
            records = WatermarkRecord.from_dynamodb_items(page.items, table=self.gateway.table_name)
            entries.extend(_entry_of(r) for r in records)
            start = page.last_evaluated_key
            if not start or (limit is not None and len(entries) >= limit):
                return entries

    # -- writes --------------------------------------------------------------------------------
    def _moves(
        self,
        table_id: str,
        *,
        read_seq: int,
        read_value: str | None,
        to: str | None,
        kind: str,
        at: datetime,
        token: str,
        extra: Mapping[str, Any],
    ) -> list[TransactAction]:
        seq = read_seq + 1
        fence: Condition = not_exists("entry") if read_seq == 0 else eq("seq", read_seq)
        who = {k: extra.get(k) for k in ("run_id", "pipeline_id", "actor", "reason")}
        state = Update(
            set={
                "seq": seq,
                "value": to,
                "watermark_type": extra["watermark_type"],
                "kind": kind,
                "at": at,
                "write_token": token,
                **{k: v for k, v in who.items() if v is not None},
            },
            remove=tuple(k for k, v in who.items() if v is None),
        )
        entry = WatermarkRecord(
            table_id=table_id,
            entry=history_entry(seq),
            seq=seq,
            kind=kind,
            from_value=read_value,
            to_value=to,
            at=at,
            **{k: v for k, v in extra.items() if k != "watermark_type"},
        ).to_dynamodb_item()
        entry["write_token"] = {"S": token}
        return [
            TransactAction(self.gateway, self.key(table_id), update=state, condition=fence),
            TransactAction(
                self.gateway, self.key(table_id, history_entry(seq)), item=entry, condition=not_exists("entry")
            ),
        ]

    def commit_actions(
        self, run_id: str, pipeline_id: str, table_id: str, read: Mapping[str, Any], to: str, at: datetime, token: str
    ) -> list[TransactAction]:
        """The actions committing ``table_id`` from the run's ``read`` entry to ``to``."""
        return self._moves(
            table_id,
            read_seq=int(read.get("seq") or 0),
            read_value=read.get("from"),
            to=to,
            kind=WatermarkMove.COMMIT.value,
            at=at,
            token=token,
            extra={"run_id": run_id, "pipeline_id": pipeline_id, "watermark_type": read.get("type") or "string"},
        )

    def rewind(
        self,
        table_id: str,
        *,
        to_run_id: str | None = None,
        value: Any = None,
        position: RewindPosition | str = RewindPosition.BEFORE,
        reason: str,
        actor: str | None = None,
        dry_run: bool = False,
    ) -> WatermarkEntry:
        """Move ``table_id``'s watermark to before/after run ``to_run_id``, or to ``value``."""
        if (to_run_id is None) == (value is None):
            raise RegistryValidationError(
                "rewind_watermark needs exactly one of to_run_id= or value=", field="to_run_id"
            )
        if not isinstance(reason, str) or not reason.strip():
            raise RegistryValidationError("rewind_watermark needs a reason (recorded in the history)", field="reason")
        try:
            where = RewindPosition(position)
        except ValueError:
            raise RegistryValidationError(
                f"position must be 'before' or 'after', got {position!r}", field="position"
            ) from None
        who = actor or _current_user()
        table = self._table(table_id)
        kind = _type_of(table)
        token = new_write_token()
        for _ in range(_REWIND_ROUNDS):
            record = self._state_record(table_id)
            if record is not None and record.write_token == token:  # our rewind, replayed after a lost response
                raw = self.gateway.get_item(self.key(table_id, history_entry(record.seq)), consistent=True)
                if raw is not None:
                    return _entry_of(WatermarkRecord.from_dynamodb_item(raw, table=self.gateway.table_name))
            state = _state_of(table, record)
            if to_run_id is not None:
                target = self._run_bound(table_id, to_run_id, where)
            else:
                target = normalize_watermark(value, kind, table_id=table_id)
            at = utc_now()
            extra: dict[str, Any] = {
                "actor": truncate_text(who, 255, one_line=True),
                "reason": truncate_text(reason.strip(), _MAX_REASON_BYTES),
                "watermark_type": kind.value,
            }
            if to_run_id is not None:
                extra.update(to_run_id=to_run_id, position=where.value)
            planned = WatermarkEntry(
                table_id=table_id,
                seq=state.seq + 1,
                kind=WatermarkMove.REWIND,
                from_value=state.value,
                to_value=target,
                at=at,
                actor=extra["actor"],
                reason=extra["reason"],
                to_run_id=to_run_id,
                position=where if to_run_id is not None else None,
            )
            if dry_run:
                return planned
            actions = self._moves(
                table_id,
                read_seq=state.seq,
                read_value=state.value,
                to=target,
                kind=WatermarkMove.REWIND.value,
                at=at,
                token=token,
                extra=extra,
            )
            outcome = transact_write(actions, token=token)
            if outcome.applied:
                return planned
            if not outcome.supported:
                raise RegistryValidationError(
                    "this DynamoDB implementation has no transactions: cannot rewind", field="table"
                )
        raise ConflictError(
            f"the watermark of table {table_id!r} kept moving while rewinding it ({_REWIND_ROUNDS} rounds)",
            operation="rewind_watermark",
            table=self.gateway.table_name,
            key={"table_id": table_id},
        )

    def _run_bound(self, table_id: str, run_id: str, position: RewindPosition) -> str | None:
        commits = [e for e in self.history(table_id) if e.kind is WatermarkMove.COMMIT and e.run_id == run_id]
        if not commits:
            raise ItemNotFoundError(
                f"run {run_id!r} never committed the watermark of table {table_id!r}: nothing to rewind to",
                operation="rewind_watermark",
                table=self.gateway.table_name,
                key={"table_id": table_id},
            )
        last = commits[-1]
        return last.from_value if position is RewindPosition.BEFORE else last.to_value


def _current_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name (a container without a passwd entry)
        return "unknown"


def _type_of(table: TableConfig) -> WatermarkType:
    return WatermarkType(table.watermark_type or WatermarkType.STRING)


def _state_of(table: TableConfig, record: WatermarkRecord | None) -> WatermarkState:
    kind = _type_of(table)
    if record is None:
        initial = table.watermark_value
        value = normalize_watermark(initial, kind, table_id=table.table_id) if initial else None
        return WatermarkState(table_id=table.table_id, value=value, watermark_type=kind.value)
    rewound = record.kind == WatermarkMove.REWIND.value
    return WatermarkState(
        table_id=table.table_id,
        value=record.value,
        watermark_type=record.watermark_type or kind.value,
        seq=record.seq,
        run_id=None if rewound else record.run_id,
        pipeline_id=None if rewound else record.pipeline_id,
        rewound_by=record.actor if rewound else None,
        at=record.at,
    )


def _entry_of(record: WatermarkRecord) -> WatermarkEntry:
    return WatermarkEntry(
        table_id=record.table_id,
        seq=record.seq,
        kind=WatermarkMove(record.kind or WatermarkMove.COMMIT.value),
        from_value=record.from_value,
        to_value=record.to_value,
        at=record.at or utc_now(),
        run_id=record.run_id,
        pipeline_id=record.pipeline_id,
        actor=record.actor,
        reason=record.reason,
        to_run_id=record.to_run_id,
        position=RewindPosition(record.position) if record.position else None,
    )

"""Commands over ``pipeline_run_logs``: the run lifecycle, enforced by conditional writes.

``RUNNING -> SUCCESS | FAILED | CANCELLED``. A terminal state is final for its attempt: a late
or re-delivered start is refused, a higher try number may start the run again, and writing the
same end twice is a no-op. ``ReturnValuesOnConditionCheckFailure=ALL_OLD`` tells a duplicate
from a conflict without a second read.

Attempts: each start creates an attempt with an opaque ``attempt_id``; heartbeats, metric
flushes and ends that name an attempt are conditional on it (a zombie writer of an older attempt
gets :class:`AttemptSupersededError` and changes nothing). A new attempt moves the previous one
into the run's bounded ``attempts`` history. :meth:`PipelineRunLogsWriteApi.join` is how a run
logger (the job's driver) claims the attempt a start operator opened, takes over an expired
lease, or starts a newer try of its own task; see the README, "Attempts and fencing".

This module is the storage side: it reads, makes the one conditional write and maps a refused
condition back through the decision. What each call decides is the protocol, in the pure
:mod:`.lifecycle` (``decide(seen, request, now)``), tested row by row without DynamoDB.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any, cast

from ..attributes import Item, decode_item, encode_value
from ..conditional_batch import ConditionalBatch, history_of_raw
from ..conditions import Compare, Condition, Update, eq, exists, not_exists
from ..config import DynamoDBConfig
from ..config_store import BatchUpsertReport, validate_dto
from ..errors import (
    ConflictError,
    ItemNotFoundError,
    RegistryError,
    RegistryValidationError,
    RetryableError,
    WatermarkConflictError,
    aws_provenance,
)
from ..gateway import DynamoDBClient, TableGateway, TransactAction, create_table_gateway, transact_write
from ..json_values import to_json_value
from ..keys import build_model_key
from ..model import extract_model_metadata
from ..timezones import utc_now
from ..watermarks.store import MAX_COMMITTED_TABLES, WatermarkStore
from ..watermarks.values import checked_advance
from ..write_tokens import CREATE_TOKEN, WRITE_TOKENS, carried, new_create_token, new_write_token, same_creation
from .lifecycle import (
    DEFAULT_LEASE,
    AttemptRequest,
    Decision,
    Heartbeat,
    Opener,
    Outcome,
    decide,
    decide_refused_end,
    decide_refused_heartbeat,
    end_fence,
    needs_watermarks,
    running_fence,
)
from .models import PipelineRunLog, PipelineRunLogUpsert, RunFinish, RunStart, RunStatus, _WatermarkFields

log = logging.getLogger(__name__)

_SPARK_FIELDS = ("spark_application_id", "spark_application_name", "spark_ui_url")
#: read-decide-write rounds before a start gives up on a run that keeps changing under it
_MAX_RACE_ROUNDS = 8
#: read-then-delete rounds before a delete gives up on a run written between its read and delete
_DELETE_ROUNDS = 5


class PipelineRunLogsWriteApi:
    """Start, join, heartbeat, finish, cancel, delete and batch-upsert run logs."""

    def __init__(
        self,
        config: DynamoDBConfig,
        client: DynamoDBClient | None = None,
        gateway: TableGateway | None = None,
    ) -> None:
        self.config = config
        self.gateway = gateway or create_table_gateway(config, PipelineRunLog, client)
        self._key_strings = extract_model_metadata(PipelineRunLog).index_key_attributes

    def _key(self, run_id: str, pipeline_id: str) -> dict[str, Any]:
        return build_model_key(PipelineRunLog, run_id=run_id, pipeline_id=pipeline_id)

    @cached_property
    def watermarks(self) -> WatermarkStore:
        """The committed watermarks (read by a start or join, moved by a SUCCESS end)."""
        return WatermarkStore(self.config, self.gateway.client)

    def _expire_at(self, start_time: datetime) -> int | None:
        days = self.config.run_log_retention_days
        return int((start_time.astimezone(UTC) + timedelta(days=days)).timestamp()) if days else None

    def _context(self, operation: str, run_id: str, pipeline_id: str) -> dict[str, Any]:
        return {
            "operation": operation,
            "table": self.gateway.table_name,
            "key": {"run_id": run_id, "pipeline_id": pipeline_id},
        }

    # -- reading the current state ----------------------------------------------------------
    def _stored(self, item: Mapping[str, Any], operation: str, run_id: str, pipeline_id: str) -> PipelineRunLog:
        """A low-level stored item as the entity (see :meth:`_entity`)."""
        return self._entity(decode_item(item), operation, run_id, pipeline_id)

    def _entity(self, values: Mapping[str, Any], operation: str, run_id: str, pipeline_id: str) -> PipelineRunLog:
        """Decoded stored values (e.g. a ConflictError's ``current``) as the entity; values that do
        not validate (an item holding only its keys...) are our RegistryValidationError, with context."""
        try:
            return PipelineRunLog.model_validate(dict(values))
        except ValueError as exc:  # pydantic's ValidationError is a ValueError
            summary = exc.message if isinstance(exc, RegistryValidationError) else _pydantic_summary(exc)
            raise RegistryValidationError(
                f"stored run {run_id!r} of pipeline {pipeline_id!r} is invalid: {summary}",
                field=getattr(exc, "field", None),
                **self._context(operation, run_id, pipeline_id),
            ) from None

    def _read_current(self, run_id: str, pipeline_id: str, operation: str) -> PipelineRunLog | None:
        item = self.gateway.get_item(self._key(run_id, pipeline_id), consistent=True)
        return self._stored(item, operation, run_id, pipeline_id) if item else None

    def current(self, run_id: str, pipeline_id: str) -> PipelineRunLog | None:
        """The stored run, read strongly consistent (what a fenced write is decided on), or None."""
        return self._read_current(run_id, pipeline_id, "read")

    # -- new attempts: decided by lifecycle.decide, written here --------------------------------
    def _decide_and_write(self, operation: str, request: AttemptRequest, *, expect_run: bool = False) -> PipelineRunLog:
        """Decide on the observed state (:func:`.lifecycle.decide`) and make the ONE conditional write
        it names, until a decision needs no write or a write applies.

        The first round assumes no run (one call in the common case); a failed condition returns
        the stored item (ALL_OLD, or one consistent read where an emulator omits it), which is
        decided on again: our own write replayed after a lost response is then ``UNCHANGED``.
        With ``expect_run`` (a join of the attempt a start opened, a start of a later try: the
        run almost always exists) the first round decides on a consistent read instead: the
        same two calls, but a read (1 read unit per 4 KB) where a refused write would be billed
        like a write (1 write unit per KB of the stored item, 5x the price per unit on demand).
        The write stays conditional on what was read, so a change in between is decided again.
        """
        start = request.run
        key = self._key(start.run_id, start.pipeline_id)
        context = self._context(operation, start.run_id, start.pipeline_id)
        seen: PipelineRunLog | None = (
            self._read_current(start.run_id, start.pipeline_id, operation) if expect_run else None
        )
        for _ in range(_MAX_RACE_ROUNDS):
            now = utc_now()
            decision = decide(seen, request, now)
            if request.watermarks is None and needs_watermarks(decision, seen):
                # a new attempt on a run without a snapshot: read what the run will read, once
                request = replace(request, watermarks=self.watermarks.snapshot(start.pipeline_id))
                decision = decide(seen, request, now)
            if not decision.writes:
                if seen is None or decision.outcome is not Outcome.UNCHANGED:
                    raise _refusal(decision, _plain(seen) if seen else None, context)
                log.log(
                    logging.INFO if decision.notable else logging.DEBUG,
                    "%s of %s/%s: %s",
                    operation,
                    start.run_id,
                    start.pipeline_id,
                    decision.reason,
                )
                return seen
            try:
                item = self.gateway.update_item(key, decision.update or Update(), condition=decision.condition)
            except ConflictError as exc:
                if exc.current is None:  # no ALL_OLD (some emulators): confirm with a consistent read
                    seen = self._read_current(start.run_id, start.pipeline_id, operation)
                else:
                    seen = self._entity(exc.current, operation, start.run_id, start.pipeline_id)
                continue
            return self._stored(item, operation, start.run_id, start.pipeline_id)
        raise ConflictError(
            f"run {start.run_id!r} changed {_MAX_RACE_ROUNDS} times while {operation} was deciding: giving up",
            **context,
        )

    def _request(self, start: RunStart, opener: Opener, **join: Any) -> AttemptRequest:
        return AttemptRequest(
            run=start,
            opener=opener,
            expire_at=self._expire_at(start.start_time),
            create_token=new_create_token(),
            display_tz=self.config.user_timezone,
            **join,
        )

    # -- start ---------------------------------------------------------------------------------
    def start(self, data: RunStart | Mapping[str, Any]) -> PipelineRunLog:
        """Open a new attempt of a run: RUNNING, a fresh ``attempt_id`` (a new run, or a retry).

        What ``StartPipelineRunOperator`` calls. ``try_number`` and ``task_id`` are the starting
        task's; they are stored as ``start_try_number``/``start_task_id`` and a later start is
        compared only with those (the same task's try numbers). A higher try starts a new
        attempt (the previous one goes into the history, as ``SUPERSEDED`` if it was RUNNING);
        a re-delivered start of the same try while it is RUNNING and unclaimed returns the
        stored run unchanged, as does a start replayed after a lost response (same
        ``attempt_id``). A start that would reopen a finished attempt, or start an older try,
        is refused with ConflictError. The rules: :func:`.lifecycle.decide`.
        """
        start = validate_dto(RunStart, data, self.config.tzinfo)
        return self._decide_and_write("start", self._request(start, Opener.START), expect_run=start.try_number > 1)

    # -- join (the run logger) -------------------------------------------------------------------
    def join(
        self,
        data: RunStart | Mapping[str, Any],
        *,
        opened_attempt_id: str | None = None,
        lease: timedelta = DEFAULT_LEASE,
        try_number_known: bool = True,
        expected_attempt_id: str | None = None,
    ) -> PipelineRunLog:
        """Make ``data.attempt_id`` the run's current attempt, for the driver that runs the job.

        ``data.task_id``/``data.try_number`` are the identity of the task running the job (the
        Spark task's own). One of, decided on a consistent view and written with one
        conditional write fenced on it (the rules: :func:`.lifecycle.decide`):

        * no run yet: a new attempt (a job run without a start operator);
        * the run is RUNNING in an attempt no driver has claimed yet (and it is
          ``opened_attempt_id`` when given, the id ``StartPipelineRunOperator`` opened and pushed): the
          first driver to claim it joins it (the attempt takes the driver's attempt id, task id
          and try number); any later driver sees it claimed;
        * the run is RUNNING in an attempt of the same task with a lower try number (Airflow
          retried the task), or the run ended and this is a later try of the task than any
          recorded on the run (a run that ended before any try of this task claimed it counts
          as its try 1): a new attempt;
        * the RUNNING attempt's lease expired (no heartbeat for ``lease``): taken over, fenced on
          that attempt's id and heartbeat, so of two racers only one wins;
        * anything else: :class:`AttemptConflictError` (e.g. a late try-1 driver arriving while
          try 2 runs), before the job's work starts.

        ``try_number_known=False`` says the caller has no try number of its own (``data``
        carries the default 1): it never supersedes by try. ``expected_attempt_id=`` is the
        deprecated former name of ``opened_attempt_id=``.
        """
        if expected_attempt_id is not None:
            if opened_attempt_id is not None:
                raise RegistryValidationError(
                    "give opened_attempt_id= only (expected_attempt_id= is its deprecated former name)",
                    field="expected_attempt_id",
                )
            warnings.warn(
                "join(expected_attempt_id=...) is deprecated: use opened_attempt_id=...",
                DeprecationWarning,
                stacklevel=2,
            )
            opened_attempt_id = expected_attempt_id
        start = validate_dto(RunStart, data, self.config.tzinfo)
        request = self._request(
            start,
            Opener.JOIN,
            opened_attempt_id=opened_attempt_id,
            lease=lease,
            try_number_known=try_number_known,
        )
        return self._decide_and_write("join", request, expect_run=opened_attempt_id is not None)

    # -- while running -------------------------------------------------------------------------
    def heartbeat(
        self,
        run_id: str,
        pipeline_id: str,
        *,
        at: datetime | None = None,
        metrics: Mapping[str, int | float] | None = None,
        spark: Mapping[str, str | None] | None = None,
        attempt_id: str | None = None,
        arguments: Mapping[str, Any] | None = None,
    ) -> PipelineRunLog:
        """Advance the heartbeat of a RUNNING run, optionally flushing metrics and Spark identity,
        and recording the job's rendered ``arguments`` (replacing the stored ones).

        With ``attempt_id`` only while that is the run's current attempt: a writer of an older
        attempt gets AttemptSupersededError and changes nothing. ConflictError (with the stored
        run) when the run has already ended; ItemNotFoundError when it does not exist.
        """
        payload = validate_dto(
            RunStart,
            {
                "run_id": run_id,
                "pipeline_id": pipeline_id,
                "start_time": at or utc_now(),
                "metrics": dict(metrics or {}),
                **{k: v for k, v in (spark or {}).items() if v is not None},
            },
            self.config.tzinfo,
        )
        sets: dict[str, Any] = {"heartbeat_at": payload.start_time, "updated_at": utc_now()}
        sets.update({k: getattr(payload, k) for k in _SPARK_FIELDS if getattr(payload, k) is not None})
        if arguments is not None:
            sets["arguments"] = to_json_value(dict(arguments))
        update = Update(set=sets, key_strings=self._key_strings)
        return self._while_running("heartbeat", run_id, pipeline_id, update, payload.metrics, attempt_id)

    def _update_merging_metrics(
        self, key: dict[str, Any], update: Update, metrics: Mapping[str, int | float], condition: Condition
    ) -> Item:
        """Apply ``update`` plus the ``metrics`` entries merged into the stored map, fenced on ``condition``.

        ``SET metrics.x = :v`` fails ("the document path provided in the update expression is
        invalid") on a run stored without a ``metrics`` map (another tool, an older version), and
        it cannot be combined with ``SET metrics = if_not_exists(metrics, :empty)`` in one
        expression. So the entry-wise form is conditioned on ``attribute_exists(metrics)``; when
        that fails and the stored item (ALL_OLD, or the gateway's consistent read) has no map, the
        same write sets the whole map, conditioned on ``attribute_not_exists(metrics)`` -- merging
        into no map is exactly the new entries. Both forms carry the caller's whole fence (status,
        attempt), so a zombie or an ended run is refused by either, and each form is idempotent
        under a replay: a replayed whole-map write finds the map it created and goes back to the
        entry-wise form, which writes the same values again. Only items without a map pay the
        second call, once; a consistent read before every write, or metrics as top-level
        attributes (a changed storage contract), would cost every run.
        """
        if not metrics:
            return self.gateway.update_item(key, update, condition=condition)
        by_entry = replace(update, set_nested={**update.set_nested, **{("metrics", k): v for k, v in metrics.items()}})
        whole = replace(update, set={**update.set, "metrics": dict(metrics)})
        for _ in range(2):
            try:
                return self.gateway.update_item(key, by_entry, condition=condition & exists("metrics"))
            except ConflictError as exc:
                if exc.current is None or "metrics" in exc.current:
                    raise  # the fence failed (or no run): the caller explains it
            try:
                return self.gateway.update_item(key, whole, condition=condition & not_exists("metrics"))
            except ConflictError as exc:
                if exc.current is None or "metrics" not in exc.current:
                    raise
        return self.gateway.update_item(key, by_entry, condition=condition & exists("metrics"))

    def _while_running(
        self,
        operation: str,
        run_id: str,
        pipeline_id: str,
        update: Update,
        metrics: Mapping[str, int | float],
        attempt_id: str | None,
    ) -> PipelineRunLog:
        """The one fenced write of a heartbeat (:func:`.lifecycle.running_fence`); a refusal is
        explained by :func:`.lifecycle.decide_refused_heartbeat` on the item seen after it."""
        condition = running_fence(attempt_id)
        try:
            item = self._update_merging_metrics(self._key(run_id, pipeline_id), update, metrics, condition)
        except ConflictError as exc:
            context = self._context(operation, run_id, pipeline_id)
            current = exc.current
            seen = (
                self._entity(current, operation, run_id, pipeline_id)
                if current is not None
                else self._read_current(run_id, pipeline_id, operation)
            )
            beat = Heartbeat(run_id, pipeline_id, update.set["heartbeat_at"], metrics, attempt_id)
            decision = decide_refused_heartbeat(seen, beat)
            if decision.outcome is Outcome.UNCHANGED and seen is not None:
                # replayed after a lost response, and the run ended since: report the stored run
                log.debug("%s of %s: %s", operation, run_id, decision.reason)
                return seen
            stored = current if current is not None or seen is None else _plain(seen)
            raise _refusal(decision, stored, {**context, **aws_provenance(exc)}) from exc.__cause__
        return self._stored(item, operation, run_id, pipeline_id)

    # -- end -----------------------------------------------------------------------------------
    def finish(self, data: RunFinish | Mapping[str, Any]) -> PipelineRunLog:
        """Record the end (SUCCESS, FAILED or CANCELLED) of a RUNNING run.

        Metrics are merged into the stored ones. With ``attempt_id`` the end applies only to
        that attempt (AttemptSupersededError when a newer attempt replaced it). The same end of
        the same attempt written twice is a no-op that returns the stored run; a different end
        than the stored one is a ConflictError. The one write is fenced by
        :func:`.lifecycle.end_fence`; a refusal is explained by :func:`.lifecycle.decide_refused_end`.

        A SUCCESS end of a run whose attempt staged watermarks (:meth:`stage_watermark`), or that
        carries ``watermarks``, commits them with the end in one ``TransactWriteItems``
        (:meth:`_commit`); FAILED and CANCELLED commit nothing.
        """
        end = validate_dto(RunFinish, data, self.config.tzinfo)
        if end.status is RunStatus.SUCCESS and end.watermarks:
            return self._commit(end)
        sets: dict[str, Any] = {"status": end.status, "end_time": end.end_time, "updated_at": utc_now()}
        if end.error_type is not None:
            sets["error_type"] = end.error_type
        if end.error_message is not None:
            sets["error_message"] = end.error_message
        update = Update(set=sets, remove=("is_running", "watermark_pending"), key_strings=self._key_strings)
        key = self._key(end.run_id, end.pipeline_id)
        context = self._context("finish", end.run_id, end.pipeline_id)
        fence = end_fence(end)
        if end.status is RunStatus.SUCCESS:
            fence = fence & not_exists("watermark_pending")  # staged watermarks: the commit path
        try:
            item = self._update_merging_metrics(key, update, end.metrics, fence)
            return self._stored(item, "finish", end.run_id, end.pipeline_id)
        except ConflictError as exc:
            stored = exc.current
        current = (
            self._entity(stored, "finish", end.run_id, end.pipeline_id)
            if stored is not None
            else self._read_current(end.run_id, end.pipeline_id, "finish")
        )
        if (
            end.status is RunStatus.SUCCESS
            and current is not None
            and current.watermark_pending
            and _passes(current, end)
        ):
            return self._commit(end)
        decision = decide_refused_end(current, end)
        if decision.outcome is Outcome.UNCHANGED and current is not None:
            log.log(logging.INFO if decision.notable else logging.DEBUG, "%s: %s", end.run_id, decision.reason)
            return current
        raise _refusal(decision, stored if stored is not None or current is None else _plain(current), context)

    # -- watermarks ----------------------------------------------------------------------------
    def stage_watermark(
        self, run_id: str, pipeline_id: str, table_id: str, value: Any, *, attempt_id: str | None = None
    ) -> str:
        """Stage ``value`` as the new high bound of ``table_id`` on the RUNNING run (in ``attempt_id``,
        when named): the SUCCESS end of that attempt commits it; nothing else does.

        ``value`` is typed by the table's ``watermark_type`` (the canonical text is returned); an
        advance below the low bound the run read is :class:`WatermarkBackwardsError`, a table the
        run did not read is RegistryValidationError. A superseded attempt gets AttemptSupersededError and
        stages nothing; an ended run ConflictError.
        """
        context = self._context("stage_watermark", run_id, pipeline_id)
        for _ in range(_MAX_RACE_ROUNDS):
            seen = self._read_current(run_id, pipeline_id, "stage_watermark")
            beat = Heartbeat(run_id, pipeline_id, utc_now(), {}, attempt_id)
            if (
                seen is None
                or seen.status is not RunStatus.RUNNING
                or (attempt_id is not None and seen.current_attempt_id != attempt_id)
            ):
                decision = decide_refused_heartbeat(seen, replace(beat, at=_NEVER))
                raise _refusal(decision, _plain(seen) if seen else None, context)
            text = _advance(seen.run_id, seen.watermarks, table_id, value)
            staged = {**(seen.watermark_staged or {}), table_id: text}
            update = Update(
                set={"watermark_staged": staged, "watermark_pending": True, "updated_at": utc_now()},
                key_strings=self._key_strings,
            )
            fence = running_fence(attempt_id) & _same_write(seen)
            try:
                self.gateway.update_item(self._key(run_id, pipeline_id), update, condition=fence)
            except ConflictError:
                continue  # a heartbeat (or anything) wrote since the read: decide again
            return text
        raise ConflictError(f"run {run_id!r} kept changing while staging a watermark", **context)

    def commit_end(
        self, data: RunFinish | Mapping[str, Any], *, read: Mapping[str, Mapping[str, Any]]
    ) -> PipelineRunLog | None:
        """The SUCCESS end of attempt ``data.attempt_id`` with its watermarks, for a caller that holds
        the run's snapshot ``read`` (``run.watermarks`` as its join returned it: the run logger).

        One ``TransactWriteItems`` and no read first: a run's snapshot changes only with a new
        attempt, so the end's attempt fence also proves ``read`` is the stored one. Returns None
        when that transaction applied; anything else (a refused condition, a lost answer that
        the implementation does not recognise) goes through :meth:`finish`'s reading path, which
        explains it and returns the stored run or raises (WatermarkConflictError...).
        """
        end = validate_dto(RunFinish, data, self.config.tzinfo)
        if end.status is not RunStatus.SUCCESS or end.attempt_id is None or not end.watermarks:
            return self.finish(end)
        moves: dict[str, str] = {}
        for table_id, value in sorted(end.watermarks.items()):
            text = _advance(end.run_id, read, table_id, value)
            if text != read[table_id].get("from"):
                moves[table_id] = text
        if not moves or len(moves) > MAX_COMMITTED_TABLES:
            return self._commit(end)
        now = utc_now()
        commits = {
            t: {"from": read[t].get("from"), "to": v, "seq": int(read[t].get("seq") or 0) + 1} for t, v in moves.items()
        }
        update = Update(
            set={"status": end.status, "end_time": end.end_time, "updated_at": now, "watermark_commits": commits},
            set_nested={("metrics", k): v for k, v in end.metrics.items()},
            remove=("is_running", "watermark_pending", "watermark_staged"),
            key_strings=self._key_strings,
        )
        key = self._key(end.run_id, end.pipeline_id)
        fence = end_fence(end) & exists("metrics") & exists("watermarks")
        token = new_write_token()
        actions = [TransactAction(self.gateway, key, update=update, condition=fence)]
        for table_id, value in moves.items():
            actions += self.watermarks.commit_actions(
                end.run_id, end.pipeline_id, table_id, read[table_id], value, now, token
            )
        if transact_write(actions, token=token).applied:
            for table_id, commit in commits.items():
                log.info("run %s: watermark of %s %r -> %r", end.run_id, table_id, commit["from"], commit["to"])
            return None
        return self._commit(end)

    def _commit(self, end: RunFinish) -> PipelineRunLog:
        """The SUCCESS end and every staged watermark in ONE ``TransactWriteItems``.

        Read the run (consistent); the end must pass its fence (else the refusal is explained as
        any end's: a replay of our applied commit is a duplicate SUCCESS, a zombie is
        AttemptSupersededError). Then one transaction: the run's end conditional on the attempt
        and on the run not having changed since the read, and per table that moved its state
        conditional on the ``seq`` the run read plus a new history entry. A watermark moved since
        by another run or a rewind: the run is recorded FAILED with :class:`WatermarkConflictError`,
        which is raised. botocore re-sends a lost transaction with the same ``ClientRequestToken``.
        """
        context = self._context("finish", end.run_id, end.pipeline_id)
        key = self._key(end.run_id, end.pipeline_id)
        for _ in range(_MAX_RACE_ROUNDS):
            seen = self._read_current(end.run_id, end.pipeline_id, "finish")
            if seen is None or not _passes(seen, end):
                decision = decide_refused_end(seen, end)
                if decision.outcome is Outcome.UNCHANGED and seen is not None:
                    log.info("%s: %s", end.run_id, decision.reason)
                    return seen
                raise _refusal(decision, _plain(seen) if seen else None, context)
            advances = dict(seen.watermark_staged or {})
            for table_id, value in end.watermarks.items():
                advances[table_id] = _advance(seen.run_id, seen.watermarks, table_id, value)
            read = seen.watermarks or {}
            moves = {t: v for t, v in sorted(advances.items()) if v != read[t].get("from")}
            if len(moves) > MAX_COMMITTED_TABLES:
                raise RegistryValidationError(
                    f"one end commits at most {MAX_COMMITTED_TABLES} watermarks, got {len(moves)}", field="watermarks"
                )
            now = utc_now()
            commits = {
                t: {"from": read[t].get("from"), "to": v, "seq": int(read[t].get("seq") or 0) + 1}
                for t, v in moves.items()
            }
            metrics = {**seen.metrics, **end.metrics}
            sets: dict[str, Any] = {
                "status": end.status,
                "end_time": end.end_time,
                "updated_at": now,
                "metrics": metrics,
            }
            if commits:
                sets["watermark_commits"] = commits
            update = Update(
                set=sets,
                remove=("is_running", "watermark_pending", "watermark_staged"),
                key_strings=self._key_strings,
            )
            fence = end_fence(end) & _same_write(seen)
            token = new_write_token()
            actions = [TransactAction(self.gateway, key, update=update, condition=fence)]
            for table_id, value in moves.items():
                actions += self.watermarks.commit_actions(
                    end.run_id, end.pipeline_id, table_id, read[table_id], value, now, token
                )
            if len(actions) == 1:
                try:
                    self.gateway.update_item(key, update, condition=fence)
                except ConflictError:
                    continue
            else:
                outcome = transact_write(actions, token=token)
                if not outcome.supported:
                    raise RegistryError(
                        "this DynamoDB implementation has no TransactWriteItems: watermarks cannot be committed",
                        **context,
                    )
                if not outcome.applied:
                    codes = [code for code, _ in outcome.reasons]
                    if not codes or codes[0] == "ConditionalCheckFailed" or "TransactionConflict" in codes:
                        continue  # the run changed (or a concurrent transaction): read and decide again
                    moved = [i for i, code in enumerate(codes) if i > 0 and code == "ConditionalCheckFailed"]
                    if codes[0] != "None" or not moved:
                        raise RegistryError(f"the end's transaction was cancelled: {', '.join(codes)}", **context)
                    table_id = actions[moved[0]].key["table_id"]["S"]
                    raise self._refuse_commit(end, seen, table_id, outcome.reasons[moved[0]][1], context)
            stored = seen.model_copy(
                update={
                    "status": end.status,
                    "end_time": end.end_time,
                    "updated_at": now,
                    "metrics": metrics,
                    "is_running": None,
                    "watermark_pending": None,
                    "watermark_staged": None,
                    "watermark_commits": commits or seen.watermark_commits,
                }
            )
            for table_id, commit in commits.items():
                log.info("run %s: watermark of %s %r -> %r", end.run_id, table_id, commit["from"], commit["to"])
            return stored
        raise ConflictError(
            f"run {end.run_id!r} kept changing while committing its end ({_MAX_RACE_ROUNDS} rounds)", **context
        )

    def _refuse_commit(
        self,
        end: RunFinish,
        seen: PipelineRunLog,
        table_id: str,
        stored: Mapping[str, Any] | None,
        context: Mapping[str, Any],
    ) -> WatermarkConflictError:
        """Record the run FAILED with the conflict, and return the error to raise."""
        read = (seen.watermarks or {})[table_id]
        state = (
            stored
            if stored is not None
            else decode_item(self.watermarks.gateway.get_item(self.watermarks.key(table_id), consistent=True) or {})
        )
        moved_by = state.get("run_id") if state.get("kind") == "commit" else None
        rewound_by = state.get("actor") if state.get("kind") == "rewind" else None
        by = f"run {moved_by!r}" if moved_by else f"a rewind by {rewound_by!r} ({state.get('reason')})"
        message = (
            f"watermark of table {table_id!r} moved since run {end.run_id!r} read it ({read.get('from')!r}): "
            f"it is now {state.get('value')!r}, moved by {by}; nothing was committed and the run is recorded FAILED "
            "(its output was written: the next run reads from the committed value)"
        )
        error = WatermarkConflictError(
            message,
            table_id=table_id,
            read_value=read.get("from"),
            current_value=state.get("value"),
            moved_by_run_id=moved_by,
            rewound_by=rewound_by,
            current=state,
            **context,
        )
        try:
            self.finish(
                RunFinish(
                    run_id=end.run_id,
                    pipeline_id=end.pipeline_id,
                    status=RunStatus.FAILED,
                    try_number=end.try_number,
                    end_time=end.end_time,
                    metrics=end.metrics,
                    error_type=type(error).__name__,
                    error_message=message,
                    attempt_id=end.attempt_id,
                )
            )
        except RegistryError as exc:  # e.g. superseded meanwhile: the conflict is still the answer
            log.warning("run %s: could not record the watermark conflict: %s", end.run_id, exc)
        return error

    def cancel(
        self,
        run_id: str,
        pipeline_id: str,
        *,
        reason: str | None = None,
        try_number: int | None = None,
        attempt_id: str | None = None,
    ) -> PipelineRunLog:
        """Record CANCELLED (e.g. the task was killed)."""
        return self.finish(
            RunFinish(
                run_id=run_id,
                pipeline_id=pipeline_id,
                status=RunStatus.CANCELLED,
                error_type="Cancelled" if reason else None,
                error_message=reason,
                try_number=try_number,
                attempt_id=attempt_id,
            )
        )

    # -- admin ---------------------------------------------------------------------------------
    def delete(self, run_id: str, pipeline_id: str) -> PipelineRunLog:
        """Delete a run log and return it; ItemNotFoundError if there was none.

        Reads the run (consistently) first, then deletes exactly what it read: the delete is
        fenced on ``updated_at``, which every write of a run sets. So a delete retried after a
        lost response (the run is gone, by our first attempt) still returns the run it deleted
        instead of reporting "not found", and a run written between the read and the delete is
        read again rather than deleted unseen. A run *created again* after the delete was applied
        (a start between the lost response and botocore's replay) carries another
        ``create_token``: the replay leaves it alone and returns the run it deleted.
        """
        context = self._context("delete", run_id, pipeline_id)
        key = self._key(run_id, pipeline_id)
        for _ in range(_DELETE_ROUNDS):
            raw = self.gateway.get_item(key, consistent=True)
            if raw is None:
                raise ItemNotFoundError(f"run {run_id!r} of pipeline {pipeline_id!r} not found", **context)
            seen = self._stored(raw, "delete", run_id, pipeline_id)
            fence = eq("updated_at", seen.updated_at) if seen.updated_at is not None else not_exists("updated_at")
            try:
                old = self.gateway.delete_item(key, condition=exists("run_id") & fence)
            except ConflictError as exc:
                if not same_creation(decode_item(raw), exc.current):
                    # gone (a consistent read confirmed it), or a run created anew: our delete was
                    # applied (its response lost and the call replayed, after another writer
                    # started the run again) or a concurrent delete removed the very run we read.
                    # Either way this run was deleted; a new one is not ours to delete.
                    return seen
                continue  # the same run, written since our read: read again
            return self._stored(old, "delete", run_id, pipeline_id) if old else seen
        raise ConflictError(
            f"run {run_id!r} of pipeline {pipeline_id!r} kept changing while deleting it ({_DELETE_ROUNDS} rounds)",
            **context,
        )

    def to_item(self, data: PipelineRunLogUpsert | Mapping[str, Any]) -> Item:
        """Validate a whole run log and build its stored item (with the running flag and TTL)."""
        dto = validate_dto(PipelineRunLogUpsert, data, self.config.tzinfo)
        values = dto.model_dump(exclude={"duration_seconds"})
        values["is_running"] = True if dto.status is RunStatus.RUNNING else None
        values["attempt_try_number"] = dto.try_number if dto.attempt_id is not None else None
        values["expire_at"] = self._expire_at(dto.start_time)
        values["updated_at"] = utc_now()
        for name, factory in _RUN_LOG_FACTORIES:  # what model_construct would call, minus its cost
            if name not in values:
                values[name] = factory()
        # the values come from the validated DTO plus fields computed here: no second validation
        return PipelineRunLog.model_construct(**values).to_dynamodb_item()

    def batch_upsert(self, runs: Sequence[PipelineRunLogUpsert | Mapping[str, Any]]) -> BatchUpsertReport:
        """Write whole run logs (imports, backfills), each conditional on the run the batch read.

        Everything is validated first: nothing is written unless every item is valid (a run named
        twice is invalid). The stored runs are read with one consistent BatchGetItem per 100;
        each put is conditional on what was read (absent, or the same ``updated_at`` and
        ``create_token``) and records the batch's token in the run's ``write_tokens`` history,
        sent in ``TransactWriteItems`` of 25, up to ``batch_concurrency`` at once (conditional
        PutItems where the implementation has no transactions: dynalite). So a batch replayed
        after a lost response recognises its own write even when another writer wrote since, and
        never puts its content again. A run another writer wrote between the batch's read and its
        write (a heartbeat, an end, a new attempt) is NOT overwritten: it is listed in ``failed``
        with the reason, the other runs are written. Attributes this version does not know
        (written by a newer version or another tool) are kept, and so is ``create_token``; a run
        the batch creates gets one of its own.
        """
        items: list[Item] = []
        problems: list[dict[str, Any]] = []
        for index, data in enumerate(runs):
            try:
                items.append(self.to_item(data))
            except RegistryValidationError as exc:
                problems.extend(
                    {**p, "field": f"[{index}].{p['field']}"}
                    for p in exc.errors or [{"field": exc.field or "?", "message": exc.message}]
                )
        if problems:
            summary = "; ".join(f"{p['field']}: {p['message']}" for p in problems[:20])
            raise RegistryValidationError(
                f"{len(problems)} invalid run log(s): {summary}", field=problems[0]["field"], errors=problems
            )
        by_id = {_run_key_of(item): item for item in items}
        if len(by_id) != len(items):
            ids = [_run_key_of(item) for item in items]
            dupes = sorted({f"{r}/{p}" for r, p in ids if ids.count((r, p)) > 1})
            raise RegistryValidationError(f"run named twice in batch: {dupes[:10]}", field="run_id")
        try:
            stored = {
                _run_key_of(raw): raw
                for raw in self.gateway.batch_get([self._key(r, p) for r, p in by_id], consistent=True)
            }
        except RetryableError as exc:  # never raised mid-way: nothing was written, all reported
            return BatchUpsertReport(
                failed=[{"key": {"run_id": r, "pipeline_id": p}, "reason": exc.message} for r, p in by_id]
            )
        batch: ConditionalBatch[tuple[str, str]] = ConditionalBatch(
            gateway=self.gateway,
            token=new_write_token(),  # one per batch: each run records it with the updated_at it wrote
            plan=lambda run, raw: self._plan(by_id[run], raw, batch.token),
            key=lambda run: self._key(*run),
            id_of=_run_key_of,
            resend_changed=False,  # a run written since the read is reported, never overwritten
            changed_reason=_changed_reason,
        )
        outcomes = batch.write(list(by_id), stored)
        report = BatchUpsertReport()
        for (run_id, pipeline_id), (outcome, reason) in outcomes.items():
            if outcome == "written":
                report.written.append(f"{run_id}/{pipeline_id}")
            else:
                report.failed.append(
                    {"key": {"run_id": run_id, "pipeline_id": pipeline_id}, "reason": reason or "not written"}
                )
        return report

    def _plan(self, item: Item, raw: Item | None, token: str) -> tuple[Item, Condition]:
        """The put of one batch run over the stored ``raw``: conditional on the run read (or its
        absence), recording ``token`` with the ``updated_at`` it writes; a put replaces the whole
        item, so what the stored run holds beyond this version's fields is carried over (its
        ``create_token`` included)."""
        put = dict(item)
        written_at = _raw_string(item, "updated_at")
        put[WRITE_TOKENS] = encode_value(carried(history_of_raw(raw), token, written_at), WRITE_TOKENS)
        # what the run read, staged and committed of its watermarks is no import's to replace
        known = set(PipelineRunLog.model_fields) - set(_WatermarkFields.model_fields)
        for name, value in (raw or {}).items():
            if name not in known:
                put.setdefault(name, value)
        if raw is None:
            put[CREATE_TOKEN] = {"S": new_create_token()}
            return put, not_exists("run_id")
        fence: Condition = exists("run_id")
        for name in ("updated_at", CREATE_TOKEN):
            read = _raw_string(raw, name)
            fence = fence & (Compare(name, "=", read) if read is not None else not_exists(name))
        return put, fence


#: the run log's fields with a default factory (all of them take no argument): ``to_item`` fills
#: them itself, because ``model_construct`` asks ``inspect.signature`` of each factory on every
#: call (pydantic's check for factories taking the validated data), about half of a batch item's
#: validation time
_RUN_LOG_FACTORIES: tuple[tuple[str, Callable[[], Any]], ...] = tuple(
    (name, cast("Callable[[], Any]", field.default_factory))
    for name, field in PipelineRunLog.model_fields.items()
    if field.default_factory is not None
)


def _refusal(decision: Decision, current: Mapping[str, Any] | None, context: Mapping[str, Any]) -> RegistryError:
    """The error a refusing decision raises, with the stored run (a ConflictError's ``current``)."""
    error = decision.error or ConflictError
    if issubclass(error, ConflictError):
        return error(decision.reason, current=current, **context)
    return error(decision.reason, **context)


#: a heartbeat time no stored run holds (the refusal of a stage is never "already applied")
_NEVER = datetime(1, 1, 1, tzinfo=UTC)


def _passes(run: PipelineRunLog, end: RunFinish) -> bool:
    """``end`` passes its fence on ``run`` (:func:`.lifecycle.end_fence`, evaluated here)."""
    return (
        run.status is RunStatus.RUNNING
        and (end.try_number is None or end.try_number == run.try_number)
        and (end.attempt_id is None or run.current_attempt_id == end.attempt_id)
    )


def _same_write(run: PipelineRunLog) -> Condition:
    """The run item is still the one read (no write since: every write sets ``updated_at``)."""
    return eq("updated_at", run.updated_at) if run.updated_at is not None else not_exists("updated_at")


def _advance(run_id: str, snapshot: Mapping[str, Mapping[str, Any]] | None, table_id: str, value: Any) -> str:
    """``value`` as the canonical new high bound of ``table_id`` for run ``run_id`` whose snapshot is
    ``snapshot``: the run must have read the table, and the value must not be below what it read."""
    read = (snapshot or {}).get(table_id)
    if read is None:
        known = ", ".join(sorted(snapshot or {})) or "none"
        raise RegistryValidationError(
            f"run {run_id!r} did not read a watermark of table {table_id!r} (the pipeline's active tables "
            f"when it started: {known})",
            field=f"watermarks.{table_id}",
        )
    return checked_advance(read, table_id, value)


def _run_key_of(item: Mapping[str, Any]) -> tuple[str, str]:
    return item["run_id"]["S"], item["pipeline_id"]["S"]


def _raw_string(raw: Mapping[str, Any] | None, name: str) -> str | None:
    value = (raw or {}).get(name)
    return value.get("S") if isinstance(value, Mapping) else None


def _changed_reason(run: tuple[str, str], raw: Item | None) -> str:
    """Why a batch run written by another writer since the batch read it is not written."""
    if raw is None:
        return "not written: the run was deleted by another writer since the batch read it"
    status = _raw_string(raw, "status") or "?"
    updated = _raw_string(raw, "updated_at") or "?"
    return (
        f"not written: run {run[0]!r} was written by another writer since the batch read it (now "
        f"{status}, updated_at {updated}); read it and send it again if this import should replace it"
    )


def _plain(run: PipelineRunLog) -> dict[str, Any]:
    """A run as the decoded stored values a ConflictError carries in ``current``."""
    return decode_item(run.to_dynamodb_item())


def _pydantic_summary(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return str(exc)
    parts = [
        f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}"
        for e in errors(include_url=False, include_context=False, include_input=False)
    ]
    return "; ".join(parts)

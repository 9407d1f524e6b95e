"""Commands over ``pipeline_run_logs``: the run lifecycle, enforced by conditional writes.

``RUNNING -> SUCCESS | FAILED | CANCELLED``. A terminal state is final for its attempt: a late
or re-delivered start is refused, a higher try number may start the run again, and writing the
same end twice is a no-op. ``ReturnValuesOnConditionCheckFailure=ALL_OLD`` tells a duplicate
from a conflict without a second read.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from ..attributes import Item
from ..conditions import Compare, Condition, Update, eq, exists, not_exists
from ..config import DynamoDBConfig
from ..config_store import BatchUpsertReport, validate_dto
from ..errors import ConflictError, ItemNotFoundError, ValidationError
from ..gateway import DynamoDBClient, TableGateway, create_table_gateway
from ..keys import build_model_key
from ..model import extract_model_metadata
from ..timezones import format_for_display, utc_now
from .models import PipelineRunLog, PipelineRunLogUpsert, RunFinish, RunStart, RunStatus

log = logging.getLogger(__name__)

_START_RESETS = ("end_time", "error_type", "error_message")
_IDENTITY_FIELDS = (
    "dag_id",
    "dag_run_id",
    "task_id",
    "map_index",
    "logical_date",
    "spark_application_id",
    "spark_application_name",
    "spark_ui_url",
)


class PipelineRunLogsWriteApi:
    """Start, heartbeat, finish, cancel, delete and batch-upsert run logs."""

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

    def _expire_at(self, start_time: datetime) -> int | None:
        days = self.config.run_log_retention_days
        return int((start_time.astimezone(UTC) + timedelta(days=days)).timestamp()) if days else None

    def _context(self, operation: str, run_id: str, pipeline_id: str) -> dict[str, Any]:
        return {
            "operation": operation,
            "table": self.gateway.table_name,
            "key": {"run_id": run_id, "pipeline_id": pipeline_id},
        }

    # -- start ---------------------------------------------------------------------------------
    def start(self, data: RunStart | Mapping[str, Any], *, adopt_running: bool = False) -> PipelineRunLog:
        """Record RUNNING for a run (a new run, or a retry with a higher ``try_number``).

        A re-delivered start of the same attempt returns the stored run unchanged. With
        ``adopt_running`` any RUNNING entry is adopted whatever its try number (the run logger
        joining a run that ``StartPipelineRunOperator`` opened). A start that would reopen a
        finished attempt is refused with ConflictError.
        """
        start = validate_dto(RunStart, data, self.config.tzinfo)
        sets: dict[str, Any] = {
            "status": RunStatus.RUNNING,
            "try_number": start.try_number,
            "start_time": start.start_time,
            "heartbeat_at": start.start_time,
            "is_running": True,
            "metrics": start.metrics,
            "updated_at": utc_now(),
        }
        sets.update({name: getattr(start, name) for name in _IDENTITY_FIELDS if getattr(start, name) is not None})
        expire_at = self._expire_at(start.start_time)
        if expire_at is not None:
            sets["expire_at"] = expire_at
        update = Update(set=sets, remove=_START_RESETS, key_strings=self._key_strings)
        condition = not_exists("run_id") | Compare("try_number", "<", start.try_number)
        key = self._key(start.run_id, start.pipeline_id)
        try:
            return PipelineRunLog.from_dynamodb_item(self.gateway.update_item(key, update, condition=condition))
        except ConflictError as exc:
            stored = exc.current
        assert stored is not None  # the item exists, else the condition would have held
        current = PipelineRunLog.model_validate(stored)
        context = self._context("start", start.run_id, start.pipeline_id)
        if current.status is RunStatus.RUNNING and (adopt_running or current.try_number == start.try_number):
            log.debug(
                "start of %s/%s is a duplicate of try %d: no-op",
                start.run_id,
                start.pipeline_id,
                current.try_number,
            )
            return current
        if current.status is RunStatus.RUNNING:
            raise ConflictError(
                f"run {start.run_id!r} is RUNNING as try {current.try_number}; a start for the older "
                f"try {start.try_number} is refused",
                current=stored,
                **context,
            )
        raise ConflictError(
            f"run {start.run_id!r} already ended as {current.status.value} "
            f"({format_for_display(current.end_time, self.config.user_timezone)}) in try {current.try_number}; "
            f"a start for try {start.try_number} would reopen it and is refused",
            current=stored,
            **context,
        )

    # -- while running -------------------------------------------------------------------------
    def heartbeat(
        self,
        run_id: str,
        pipeline_id: str,
        *,
        at: datetime | None = None,
        metrics: Mapping[str, int | float] | None = None,
        spark: Mapping[str, str | None] | None = None,
    ) -> PipelineRunLog:
        """Advance the heartbeat of a RUNNING run, optionally flushing metrics and Spark identity.

        ConflictError (with the stored run) when the run has already ended; ItemNotFoundError
        when it does not exist.
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
        sets.update(
            {
                k: getattr(payload, k)
                for k in ("spark_application_id", "spark_application_name", "spark_ui_url")
                if getattr(payload, k) is not None
            }
        )
        update = Update(
            set=sets,
            set_nested={("metrics", k): v for k, v in payload.metrics.items()},
            key_strings=self._key_strings,
        )
        return self._while_running("heartbeat", run_id, pipeline_id, update)

    def _while_running(self, operation: str, run_id: str, pipeline_id: str, update: Update) -> PipelineRunLog:
        condition = eq("status", RunStatus.RUNNING.value)
        try:
            item = self.gateway.update_item(self._key(run_id, pipeline_id), update, condition=condition)
        except ConflictError as exc:
            context = self._context(operation, run_id, pipeline_id)
            if exc.current is None:
                raise ItemNotFoundError(f"run {run_id!r} of pipeline {pipeline_id!r} not found", **context) from None
            raise ConflictError(
                f"run {run_id!r} already ended as {exc.current.get('status')}", current=exc.current, **context
            ) from None
        return PipelineRunLog.from_dynamodb_item(item)

    # -- end -----------------------------------------------------------------------------------
    def finish(self, data: RunFinish | Mapping[str, Any]) -> PipelineRunLog:
        """Record the end (SUCCESS, FAILED or CANCELLED) of a RUNNING run.

        Metrics are merged into the stored ones. The same end written twice is a no-op that
        returns the stored run; a different end than the stored one is a ConflictError.
        """
        end = validate_dto(RunFinish, data, self.config.tzinfo)
        sets: dict[str, Any] = {"status": end.status, "end_time": end.end_time, "updated_at": utc_now()}
        if end.error_type is not None:
            sets["error_type"] = end.error_type
        if end.error_message is not None:
            sets["error_message"] = end.error_message
        update = Update(
            set=sets,
            remove=("is_running",),
            set_nested={("metrics", k): v for k, v in end.metrics.items()},
            key_strings=self._key_strings,
        )
        condition: Condition = eq("status", RunStatus.RUNNING.value)
        if end.try_number is not None:
            condition = condition & eq("try_number", end.try_number)
        key = self._key(end.run_id, end.pipeline_id)
        try:
            return PipelineRunLog.from_dynamodb_item(self.gateway.update_item(key, update, condition=condition))
        except ConflictError as exc:
            stored = exc.current
        context = self._context("finish", end.run_id, end.pipeline_id)
        if stored is None:
            raise ItemNotFoundError(
                f"run {end.run_id!r} of pipeline {end.pipeline_id!r} was never started; cannot record "
                f"{end.status.value}",
                **context,
            )
        current = PipelineRunLog.model_validate(stored)
        if current.status is end.status:
            log.debug("end %s of %s is a duplicate: no-op", end.status.value, end.run_id)
            return current
        if current.status is RunStatus.RUNNING:
            raise ConflictError(
                f"run {end.run_id!r} is RUNNING as try {current.try_number}, not try {end.try_number}; "
                "a stale end is refused",
                current=stored,
                **context,
            )
        raise ConflictError(
            f"run {end.run_id!r} already ended as {current.status.value}; refusing to record {end.status.value}",
            current=stored,
            **context,
        )

    def cancel(
        self, run_id: str, pipeline_id: str, *, reason: str | None = None, try_number: int | None = None
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
            )
        )

    # -- admin ---------------------------------------------------------------------------------
    def delete(self, run_id: str, pipeline_id: str) -> PipelineRunLog:
        """Delete a run log and return it; ItemNotFoundError if there was none."""
        try:
            old = self.gateway.delete_item(self._key(run_id, pipeline_id), condition=exists("run_id"))
        except ConflictError:
            raise ItemNotFoundError(
                f"run {run_id!r} of pipeline {pipeline_id!r} not found",
                **self._context("delete", run_id, pipeline_id),
            ) from None
        assert old is not None
        return PipelineRunLog.from_dynamodb_item(old)

    def to_item(self, data: PipelineRunLogUpsert | Mapping[str, Any]) -> Item:
        """Validate a whole run log and build its stored item (with the running flag and TTL)."""
        dto = validate_dto(PipelineRunLogUpsert, data, self.config.tzinfo)
        values = dto.model_dump(exclude={"duration_seconds"})
        values["is_running"] = True if dto.status is RunStatus.RUNNING else None
        values["expire_at"] = self._expire_at(dto.start_time)
        values["updated_at"] = utc_now()
        # the values come from the validated DTO plus fields computed here: no second validation
        return PipelineRunLog.model_construct(**values).to_dynamodb_item()

    def batch_upsert(self, runs: Sequence[PipelineRunLogUpsert | Mapping[str, Any]]) -> BatchUpsertReport:
        """Write whole run logs (imports, backfills) in batches of 25; unconditional, last writer wins.

        Everything is validated first: nothing is written unless every item is valid.
        """
        items: list[Item] = []
        problems: list[dict[str, Any]] = []
        for index, data in enumerate(runs):
            try:
                items.append(self.to_item(data))
            except ValidationError as exc:
                problems.extend(
                    {**p, "field": f"[{index}].{p['field']}"}
                    for p in exc.errors or [{"field": exc.field or "?", "message": exc.message}]
                )
        if problems:
            summary = "; ".join(f"{p['field']}: {p['message']}" for p in problems[:20])
            raise ValidationError(
                f"{len(problems)} invalid run log(s): {summary}", field=problems[0]["field"], errors=problems
            )
        result = self.gateway.batch_write(items)
        failed = {(f["key"]["run_id"], f["key"]["pipeline_id"]) for f in result.failed}
        written = [
            f"{i['run_id']['S']}/{i['pipeline_id']['S']}"
            for i in items
            if (i["run_id"]["S"], i["pipeline_id"]["S"]) not in failed
        ]
        return BatchUpsertReport(written=written, failed=result.failed)

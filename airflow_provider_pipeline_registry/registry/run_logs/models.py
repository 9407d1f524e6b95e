"""Run logs: the entity, the DTOs for start/finish/batch upsert, and the view."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, computed_field, field_validator

from ..fields import Identifier, JsonMap, Metrics
from ..model import GlobalSecondaryIndex, RegistryModel
from ..text_limits import MAX_ERROR_BYTES, MAX_HISTORY_ERROR_BYTES, truncate_text
from ..timezones import to_utc, utc_now
from ..views import ViewModel

# the run states are declared once, in .status; re-exported here for the models' importers
from .status import TERMINAL_STATUSES as TERMINAL_STATUSES
from .status import RunStatus as RunStatus

PIPELINE_RUNS_INDEX = "pipeline_runs_index"
RUNNING_RUNS_INDEX = "running_runs_index"
#: what both run indexes copy besides the keys (``run_id``, ``pipeline_id``, ``start_time``,
#: ``is_running``): attributes only a start or an end writes. Left out on purpose, the attributes a
#: running attempt rewrites: ``heartbeat_at`` and ``updated_at`` (every heartbeat), ``metrics`` (a
#: flush), ``arguments`` and the Spark fields (a heartbeat may carry them), and the claim's
#: ``attempt_id``, ``attempt_try_number``, ``attempt_tokens``, ``attempt_claimed``, ``task_id`` and
#: ``try_number``: a write that changes none of the projected attributes leaves both indexes alone, so
#: a heartbeat or a claim of an item up to 1 KB costs 1 WCU. The rest (the attempt history, the error
#: message, watermarks...) stays out too, keeping each index entry within 1 KB. A reader wanting a
#: whole run reads it from the table (``PipelineRunLogsReadApi`` does, see ``_complete``).
RUN_INDEX_ATTRIBUTES = ("status", "end_time", "error_type")
#: previous attempts kept on a run item (oldest dropped first); each keeps its error within
#: ``text_limits.MAX_HISTORY_ERROR_BYTES`` (head and tail; the run's own error keeps
#: ``MAX_ERROR_BYTES``): 10 x 512 B, so a retry does not make every later write of the item cost 9 KB more
MAX_ATTEMPT_HISTORY = 10
#: ``status`` of a previous attempt that was still RUNNING when a newer one replaced it
SUPERSEDED = "SUPERSEDED"
#: ``status`` of a previous attempt taken over after its lease (heartbeat) expired
LEASE_EXPIRED = "LEASE_EXPIRED"


class _AirflowIdentity(BaseModel):
    dag_id: str | None = Field(default=None, max_length=250)
    dag_run_id: str | None = Field(default=None, max_length=250)
    task_id: str | None = Field(default=None, max_length=250)
    map_index: int | None = None
    logical_date: datetime | None = None


class _SparkIdentity(BaseModel):
    spark_application_id: str | None = Field(default=None, max_length=255)
    spark_application_name: str | None = Field(default=None, max_length=1024)
    spark_ui_url: str | None = Field(default=None, max_length=2048)


def new_attempt_id() -> str:
    """A fresh opaque attempt id."""
    return uuid.uuid4().hex


def _bounded_error(text: str | None) -> str | None:
    """An error text within the package's one limit (head and tail kept; see ``text_limits``)."""
    return None if text is None else truncate_text(text, MAX_ERROR_BYTES)


class RunAttempt(BaseModel):
    """One previous attempt of a run, as kept in the run's bounded ``attempts`` history.

    ``status`` is the attempt's end status, or ``SUPERSEDED`` (a newer try replaced it while it
    was RUNNING) or ``LEASE_EXPIRED`` (taken over after its heartbeat stopped).
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    attempt_id: str | None = None
    try_number: int | None = None
    task_id: str | None = None
    status: str
    start_time: datetime | None = None
    end_time: datetime | None = None
    heartbeat_at: datetime | None = None
    error_type: str | None = None
    error_message: str | None = None
    spark_application_id: str | None = None

    @field_validator("start_time", "end_time", "heartbeat_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return None if value is None else to_utc(value, field="attempts.time")

    @field_validator("error_message")
    @classmethod
    def _bounded(cls, value: str | None) -> str | None:
        return None if value is None else truncate_text(value, MAX_HISTORY_ERROR_BYTES)

    def storage_value(self) -> dict[str, Any]:
        """The attempt as a stored map (None fields omitted; datetimes encoded as UTC strings)."""
        return {k: v for k, v in self.__dict__.items() if v is not None}

    def in_timezone(self, zone: tzinfo) -> RunAttempt:
        """The same attempt with its datetimes shown in ``zone``."""
        values = dict(self.__dict__)
        for name in ("start_time", "end_time", "heartbeat_at"):
            if values[name] is not None:
                values[name] = values[name].astimezone(zone)
        return RunAttempt.model_construct(**values)


def _duration_seconds(start: datetime, end: datetime | None) -> float | None:
    """Seconds from ``start`` to ``end``, to the microsecond; None while running (no end). In UTC:
    two datetimes sharing a zone subtract as wall times, wrong across a DST change."""
    if end is None:
        return None
    return round((end.astimezone(UTC) - start.astimezone(UTC)).total_seconds(), 6)


class _RunFields(_AirflowIdentity, _SparkIdentity):
    run_id: Identifier
    pipeline_id: Identifier
    status: RunStatus
    try_number: int = Field(default=1, ge=1, le=10_000)
    start_time: datetime
    end_time: datetime | None = None
    heartbeat_at: datetime | None = None
    metrics: Metrics = Field(default_factory=dict)
    #: the job's arguments as the Spark task rendered them (``spark_args``, ``spark_conf``,
    #: ``parameters``), secrets shown as the registry shows them (``dags.spark_task``)
    arguments: JsonMap = Field(default_factory=dict)
    error_type: str | None = Field(default=None, max_length=255)
    #: within ``text_limits.MAX_ERROR_BYTES`` (a longer one, e.g. written by another tool, is cut, not refused)
    error_message: str | None = None
    #: opaque id of the current attempt (uuid4 hex); every write of the attempt is fenced on it
    attempt_id: str | None = Field(default=None, max_length=64)
    #: True once a run logger (the job's driver) has claimed the attempt the start operator opened
    attempt_claimed: bool | None = None
    #: the task (and its try) that opened the run: StartPipelineRunOperator's, compared only with itself
    start_task_id: str | None = Field(default=None, max_length=250)
    start_try_number: int | None = Field(default=None, ge=1, le=10_000)
    #: previous attempts, oldest first, at most MAX_ATTEMPT_HISTORY
    attempts: list[RunAttempt] = Field(default_factory=list)

    @field_validator("error_message")
    @classmethod
    def _bounded_error_message(cls, value: str | None) -> str | None:
        return _bounded_error(value)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def duration_seconds(self) -> float | None:
        """Seconds from start to end (None while running)."""
        return _duration_seconds(self.start_time, self.end_time)

    def is_stale(self, threshold: timedelta, now: datetime | None = None) -> bool:
        """A RUNNING run whose last heartbeat (or start, if it sent none) is older than ``threshold``."""
        if self.status is not RunStatus.RUNNING:
            return False
        last_sign_of_life = (self.heartbeat_at or self.start_time).astimezone(UTC)
        return (now or utc_now()).astimezone(UTC) - last_sign_of_life > threshold


class _WatermarkFields(BaseModel):
    """What a run read, staged and committed of its tables' watermarks (see the README,
    "Incremental loads"). Stored on the run item; written by the start/join, ``stage_watermark``
    and the SUCCESS end, never by imports (not in ``PipelineRunLogUpsert``)."""

    #: ``{table_id: {"from": value or None, "seq": n, "type": ..., "column": ...}}``: the committed
    #: watermarks the run read when it started (kept by every later attempt of the run)
    watermarks: dict[str, dict[str, Any]] | None = None
    #: ``{table_id: value}``: the high bounds the current attempt staged (dropped by a new attempt)
    watermark_staged: dict[str, str] | None = None
    #: True while the current attempt has staged values (the plain SUCCESS end is fenced on its absence)
    watermark_pending: bool | None = None
    #: ``{table_id: {"from": ..., "to": ..., "seq": n}}``: what the SUCCESS end committed
    watermark_commits: dict[str, dict[str, Any]] | None = None

    def watermark_read(self, table_id: str) -> str | None:
        """The low bound this run read for ``table_id`` (KeyError when the run did not read it)."""
        return (self.watermarks or {})[table_id].get("from")


class PipelineRunLog(RegistryModel, _WatermarkFields, _RunFields):
    """A stored run. ``is_running`` is set only while RUNNING (the sparse running-runs index).

    The ``attempts`` history is stored as a list of maps (each ``RunAttempt.storage_value()``),
    omitted while empty: the compiled codec chooses that encoder from the annotation.
    """

    class Meta:
        table = "pipeline_run_logs"
        partition_key = "run_id"
        sort_key = "pipeline_id"
        gsis = (
            GlobalSecondaryIndex(
                PIPELINE_RUNS_INDEX,
                partition_key="pipeline_id",
                sort_key="start_time",
                projection="INCLUDE",
                non_key_attributes=RUN_INDEX_ATTRIBUTES,
            ),
            GlobalSecondaryIndex(
                RUNNING_RUNS_INDEX,
                partition_key="is_running",
                sort_key="start_time",
                sparse=True,
                projection="INCLUDE",
                non_key_attributes=RUN_INDEX_ATTRIBUTES,
            ),
        )
        ttl_attribute = "expire_at"

    is_running: bool | None = None
    expire_at: int | None = None
    updated_at: datetime | None = None
    #: the try number ``attempt_id`` was recorded with: a start of a version without attempts (the
    #: previous released one) changes ``try_number`` but leaves ``attempt_id``, which is then no
    #: longer the current attempt's (see :attr:`current_attempt_id`)
    attempt_try_number: int | None = None
    #: ids of the recent attempts started, joined or claimed on this run, oldest first (bounded: see
    #: ``write_tokens``): a start replayed after another writer's write recognises itself here
    attempt_tokens: list[str] = Field(default_factory=list)

    @property
    def current_attempt_id(self) -> str | None:
        """``attempt_id`` while it is the current attempt's; None once a writer that does not know
        attempts started another try over it (its fenced writes are refused)."""
        if self.attempt_try_number is not None and self.attempt_try_number != self.try_number:
            return None
        return self.attempt_id

    def current_attempt(self, status: str | None = None) -> RunAttempt:
        """This run's current attempt as a history entry (``status`` defaults to the run's)."""
        return RunAttempt(
            attempt_id=self.attempt_id,
            try_number=self.try_number,
            task_id=self.task_id,
            status=status or self.status.value,
            start_time=self.start_time,
            end_time=self.end_time,
            heartbeat_at=self.heartbeat_at,
            error_type=self.error_type,
            error_message=self.error_message,
            spark_application_id=self.spark_application_id,
        )


class PipelineRunSummary(RegistryModel):
    """A run as both run indexes hold it: its keys, ``start_time`` and :data:`RUN_INDEX_ATTRIBUTES`
    (UTC). What :meth:`PipelineRunLogsReadApi.list_summaries` returns: one index Query, no read
    of the table (a :class:`PipelineRunLogView` needs the whole item: see ``list_by_pipeline``)."""

    class Meta:
        table = "pipeline_run_logs"
        partition_key = "run_id"
        sort_key = "pipeline_id"

    model_config = ConfigDict(extra="ignore", frozen=True)

    run_id: str
    pipeline_id: str
    start_time: datetime
    status: RunStatus
    end_time: datetime | None = None
    error_type: str | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def duration_seconds(self) -> float | None:
        """Seconds from start to end (None while running)."""
        return _duration_seconds(self.start_time, self.end_time)


class PipelineRunLogUpsert(_RunFields):
    """A whole run log (for imports, backfills and batch writes). Unknown fields are refused."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    start_time: datetime = Field(default_factory=utc_now)


class RunStart(_AirflowIdentity, _SparkIdentity):
    """Input of :meth:`PipelineRunLogsWriteApi.start`."""

    model_config = ConfigDict(extra="forbid")

    run_id: Identifier
    pipeline_id: Identifier
    try_number: int = Field(default=1, ge=1, le=10_000)
    start_time: datetime = Field(default_factory=utc_now)
    metrics: Metrics = Field(default_factory=dict)
    #: the new attempt's id (default: a fresh uuid4 hex); a replayed start with the same id is
    #: recognised as already applied
    attempt_id: str = Field(default_factory=new_attempt_id, min_length=1, max_length=64)


class RunFinish(BaseModel):
    """Input of :meth:`PipelineRunLogsWriteApi.finish`."""

    model_config = ConfigDict(extra="forbid")

    run_id: Identifier
    pipeline_id: Identifier
    status: RunStatus
    try_number: int | None = Field(default=None, ge=1, le=10_000)
    end_time: datetime = Field(default_factory=utc_now)
    metrics: Metrics = Field(default_factory=dict)
    error_type: str | None = Field(default=None, max_length=255)
    error_message: str | None = None
    #: fence: record the end only if this is still the run's current attempt
    attempt_id: str | None = Field(default=None, min_length=1, max_length=64)
    #: ``{table_id: high bound}`` committed with a SUCCESS end (besides what the attempt staged);
    #: ignored by FAILED and CANCELLED. Typed by each table's ``watermark_type``.
    watermarks: dict[str, Any] = Field(default_factory=dict)

    @field_validator("status")
    @classmethod
    def _end_status(cls, value: RunStatus) -> RunStatus:
        if value is RunStatus.RUNNING:
            raise ValueError("finish needs an end status (SUCCESS, FAILED or CANCELLED), not RUNNING")
        return value

    @field_validator("error_message")
    @classmethod
    def _bounded_error_message(cls, value: str | None) -> str | None:
        return _bounded_error(value)


class PipelineRunLogView(ViewModel, _WatermarkFields, _RunFields):
    """A run for display: datetimes in the user's timezone (the attempt history's too), duration computed."""

    def _localize(self, zone: tzinfo) -> None:
        if self.attempts:
            self.__dict__["attempts"] = [a.in_timezone(zone) for a in self.attempts]

"""Run logs: the entity, the DTOs for start/finish/batch upsert, and the view."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, computed_field, field_validator

from ..fields import Identifier, Metrics
from ..model import GlobalSecondaryIndex, RegistryModel
from ..timezones import utc_now
from ..views import ViewModel

PIPELINE_RUNS_INDEX = "pipeline_runs_index"
RUNNING_RUNS_INDEX = "running_runs_index"
MAX_ERROR_MESSAGE = 8 * 1024


class RunStatus(StrEnum):
    """``RUNNING -> SUCCESS | FAILED | CANCELLED``; the three end states are final for an attempt."""

    RUNNING = "RUNNING"
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"

    @property
    def is_terminal(self) -> bool:
        return self is not RunStatus.RUNNING


TERMINAL_STATUSES = frozenset({RunStatus.SUCCESS, RunStatus.FAILED, RunStatus.CANCELLED})


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


class _RunFields(_AirflowIdentity, _SparkIdentity):
    run_id: Identifier
    pipeline_id: Identifier
    status: RunStatus
    try_number: int = Field(default=1, ge=1, le=10_000)
    start_time: datetime
    end_time: datetime | None = None
    heartbeat_at: datetime | None = None
    metrics: Metrics = Field(default_factory=dict)
    error_type: str | None = Field(default=None, max_length=255)
    error_message: str | None = Field(default=None, max_length=MAX_ERROR_MESSAGE)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def duration_seconds(self) -> float | None:
        """Seconds from start to end (None while running)."""
        if self.end_time is None:
            return None
        # in UTC: two datetimes sharing a zone subtract as wall times, wrong across a DST change
        return round((self.end_time.astimezone(UTC) - self.start_time.astimezone(UTC)).total_seconds(), 6)

    def is_stale(self, threshold: timedelta, now: datetime | None = None) -> bool:
        """A RUNNING run whose last heartbeat (or start, if it sent none) is older than ``threshold``."""
        if self.status is not RunStatus.RUNNING:
            return False
        last_sign_of_life = (self.heartbeat_at or self.start_time).astimezone(UTC)
        return (now or utc_now()).astimezone(UTC) - last_sign_of_life > threshold


class PipelineRunLog(RegistryModel, _RunFields):
    """A stored run. ``is_running`` is set only while RUNNING (the sparse running-runs index)."""

    class Meta:
        table = "pipeline_run_logs"
        partition_key = "run_id"
        sort_key = "pipeline_id"
        gsis = (
            GlobalSecondaryIndex(PIPELINE_RUNS_INDEX, partition_key="pipeline_id", sort_key="start_time"),
            GlobalSecondaryIndex(RUNNING_RUNS_INDEX, partition_key="is_running", sort_key="start_time", sparse=True),
        )
        ttl_attribute = "expire_at"

    is_running: bool | None = None
    expire_at: int | None = None
    updated_at: datetime | None = None


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

    @field_validator("status")
    @classmethod
    def _end_status(cls, value: RunStatus) -> RunStatus:
        if value is RunStatus.RUNNING:
            raise ValueError("finish needs an end status (SUCCESS, FAILED or CANCELLED), not RUNNING")
        return value

    def model_post_init(self, __context: object) -> None:
        if self.error_message is not None and len(self.error_message) > MAX_ERROR_MESSAGE:
            cut = MAX_ERROR_MESSAGE - 40
            self.error_message = self.error_message[:cut] + f"... [truncated {len(self.error_message) - cut} chars]"


class PipelineRunLogView(ViewModel, _RunFields):
    """A run for display: datetimes in the user's timezone, duration computed."""

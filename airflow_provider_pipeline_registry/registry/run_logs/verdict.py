"""The verdict of whoever waits on a run (the sensor, its trigger), as a pure function.

:func:`decide` turns one look at a run (a :class:`RunSnapshot`, or None when it does not exist
yet) and the :class:`Wait` (target states, failed states, the stale threshold) at ``now`` into an
:class:`Outcome`: keep waiting, succeed, fail, or fail as stale -- with the reason in words. No
boto3, no Airflow, no clock read and no I/O, so poke, reschedule and deferrable modes reach the
same verdict from the same data, and ``tests/unit/test_run_verdict.py`` states it as a table.

The read that produces the snapshot (one strongly consistent projected ``GetItem`` of
:data:`RUN_STATE_ATTRIBUTES`) is :func:`read_run_state`, the module's one function that does I/O,
and only through the read API it is handed; :func:`RunSnapshot.from_item` builds the snapshot from
what it read. Importing this module loads no boto3 and no Airflow (a test checks it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from ..errors import AccessDeniedError, ConfigurationError, RegistryError, RegistryValidationError, TableNotFoundError
from ..time_inputs import TimeInputError, duration_input
from ..timezones import format_for_display, format_utc, parse_utc
from .status import RUN_STATES, RunStatus

if TYPE_CHECKING:
    from .queries import PipelineRunLogsReadApi

#: what one look reads (besides the key): the projection of the GetItem
RUN_STATE_ATTRIBUTES: tuple[str, ...] = (
    "status",
    "start_time",
    "end_time",
    "heartbeat_at",
    "error_type",
    "error_message",
    "try_number",
)

#: read errors that waiting cannot fix: the wait fails at once instead of waiting for its timeout
FATAL_READ_ERRORS: tuple[type[RegistryError], ...] = (
    AccessDeniedError,
    TableNotFoundError,
    RegistryValidationError,
    ConfigurationError,
)

DEFAULT_TARGET_STATES: tuple[str, ...] = (RunStatus.SUCCESS.value,)
DEFAULT_FAILED_STATES: tuple[str, ...] = (RunStatus.FAILED.value, RunStatus.CANCELLED.value)


class OutcomeKind(StrEnum):
    """What one look at the run means for the wait."""

    WAITING = "waiting"
    SUCCESS = "success"
    FAILED = "failed"
    STALE = "stale"


@dataclass(frozen=True)
class RunSnapshot:
    """The projected state of one run, times in UTC (the seen run)."""

    run_id: str
    pipeline_id: str
    status: str
    try_number: int | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    heartbeat_at: datetime | None = None
    error_type: str | None = None
    error_message: str | None = None

    @classmethod
    def from_item(cls, run_id: str, pipeline_id: str, item: Mapping[str, Any]) -> RunSnapshot:
        """Build from a decoded (projected) run-log item."""

        def when(name: str) -> datetime | None:
            raw = item.get(name)
            return parse_utc(raw, field=name) if isinstance(raw, str) and raw else None

        try_number = item.get("try_number")
        return cls(
            run_id=run_id,
            pipeline_id=pipeline_id,
            status=str(item.get("status") or ""),
            try_number=int(try_number) if try_number is not None else None,
            start_time=when("start_time"),
            end_time=when("end_time"),
            heartbeat_at=when("heartbeat_at"),
            error_type=item.get("error_type"),
            error_message=item.get("error_message"),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (times in the storage format) for trigger events."""
        return {
            "run_id": self.run_id,
            "pipeline_id": self.pipeline_id,
            "status": self.status,
            "try_number": self.try_number,
            "start_time": format_utc(self.start_time) if self.start_time else None,
            "end_time": format_utc(self.end_time) if self.end_time else None,
            "heartbeat_at": format_utc(self.heartbeat_at) if self.heartbeat_at else None,
            "error_type": self.error_type,
            "error_message": self.error_message,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunSnapshot:
        """Inverse of :meth:`to_dict`."""
        return cls.from_item(str(data["run_id"]), str(data["pipeline_id"]), data)

    @property
    def last_sign_of_life(self) -> datetime | None:
        """The heartbeat, or the start when the run never sent one."""
        return self.heartbeat_at or self.start_time

    def describe(self, tz: str | tzinfo | None = None) -> str:
        """``run 'r' of pipeline 'p': RUNNING (try 1), started ..., heartbeat ...`` in the user's timezone."""
        parts = [f"started {format_for_display(self.start_time, tz)}"]
        if self.heartbeat_at is not None:
            parts.append(f"heartbeat {format_for_display(self.heartbeat_at, tz)}")
        if self.end_time is not None:
            parts.append(f"ended {format_for_display(self.end_time, tz)}")
        attempt = f" (try {self.try_number})" if self.try_number is not None else ""
        return f"{describe_run(self.run_id, self.pipeline_id)}: {self.status or '?'}{attempt}, {', '.join(parts)}"


@dataclass(frozen=True)
class Outcome:
    """The verdict on one look: keep waiting, or end with success, failure or staleness."""

    kind: OutcomeKind
    message: str
    snapshot: RunSnapshot | None = None

    @property
    def is_final(self) -> bool:
        return self.kind is not OutcomeKind.WAITING

    @property
    def final_snapshot(self) -> RunSnapshot:
        """The run a final outcome is about (every final outcome has one; a typed error, not an
        ``assert``, if that ever breaks)."""
        if self.snapshot is None:
            raise RegistryError(f"a {self.kind.value} outcome carries no run: {self.message}")
        return self.snapshot


@dataclass(frozen=True)
class Wait:
    """What is waited for: the states that end the wait (parsed: see :func:`validate_states`),
    the staleness threshold (None: not checked), what the messages call the awaited run and the
    timezone they show times in."""

    target_states: frozenset[str]
    failed_states: frozenset[str]
    stale_after: timedelta | None = None
    target: str = "the run"
    tz: str | tzinfo | None = None


def describe_run(run_id: str, pipeline_id: str) -> str:
    """``run 'r' of pipeline 'p'``."""
    return f"run {run_id!r} of pipeline {pipeline_id!r}"


def describe_target(
    run_id: str | None, pipeline_id: str, since: datetime | None, until: datetime | None, tz: str | tzinfo | None
) -> str:
    """What is waited for, for messages about a run that does not exist (yet)."""
    if run_id is not None:
        return describe_run(run_id, pipeline_id)
    window = f"started between {format_for_display(since, tz)} and {format_for_display(until, tz)}"
    if since is None and until is None:
        window = "at any time"
    elif since is None:
        window = f"started before {format_for_display(until, tz)}"
    elif until is None:
        window = f"started after {format_for_display(since, tz)}"
    return f"latest run of pipeline {pipeline_id!r} {window}"


def normalize_states(states: Iterable[RunStatus | str] | RunStatus | str, *, field: str) -> frozenset[str]:
    """Parse run states (``"success"``, ``"SUCCESS"`` or ``RunStatus.SUCCESS``) to their canonical text;
    RegistryValidationError naming ``field`` for anything else."""
    if isinstance(states, str):
        states = [states]
    result: set[str] = set()
    for state in states:
        text = str(state).strip().upper() if isinstance(state, str) else ""
        if text not in RUN_STATES:
            allowed = ", ".join(RUN_STATES)
            raise RegistryValidationError(f"{field}: unknown run state {state!r} (allowed: {allowed})", field=field)
        result.add(text)
    return frozenset(result)


def validate_states(
    target_states: Iterable[RunStatus | str] | RunStatus | str,
    failed_states: Iterable[RunStatus | str] | RunStatus | str,
) -> tuple[frozenset[str], frozenset[str]]:
    """Both state sets, parsed; target_states must not be empty and the two must be disjoint."""
    target = normalize_states(target_states, field="target_states")
    failed = normalize_states(failed_states, field="failed_states")
    if not target:
        raise RegistryValidationError("target_states must name at least one run state", field="target_states")
    overlap = target & failed
    if overlap:
        names = ", ".join(sorted(overlap))
        raise RegistryValidationError(
            f"target_states and failed_states must be disjoint; both contain {names}", field="failed_states"
        )
    return target, failed


def coerce_stale_after(value: timedelta | float | str | None) -> timedelta | None:
    """``stale_after`` as a positive timedelta (a duration of :mod:`..time_inputs`: timedelta,
    seconds or ``15m``-style text), or None (staleness not checked)."""
    delta = duration_input(value, field="stale_after")
    if delta is not None and delta <= timedelta(0):
        raise TimeInputError("stale_after", value, "must be positive")
    return delta


def decide(seen: RunSnapshot | None, wait: Wait, now: datetime) -> Outcome:
    """What one look at the run means for ``wait`` at ``now``.

    Order: missing -> waiting; a failed state -> failed (with the run's recorded error); a target
    state -> success; RUNNING with its heartbeat (or start, if none) older than ``stale_after`` ->
    stale; anything else (still running, or an end state in neither set, which a retry may
    restart, or a state a newer writer knows and this version does not) -> waiting.
    """
    if seen is None:
        return Outcome(OutcomeKind.WAITING, f"{wait.target} does not exist yet; waiting")
    described = seen.describe(wait.tz)
    status = seen.status
    if status in wait.failed_states:
        error = seen.error_message or "no error recorded"
        if seen.error_type:
            error = f"{seen.error_type}: {error}"
        return Outcome(OutcomeKind.FAILED, f"{described}; the run ended as {seen.status}: {error}", seen)
    if status in wait.target_states:
        wanted = ", ".join(sorted(wait.target_states))
        return Outcome(OutcomeKind.SUCCESS, f"{described}; reached a target state ({wanted})", seen)
    if status == RunStatus.RUNNING.value and wait.stale_after is not None:
        last = seen.last_sign_of_life
        if last is not None and now - last > wait.stale_after:
            what = "heartbeat" if seen.heartbeat_at is not None else "start (no heartbeat)"
            return Outcome(
                OutcomeKind.STALE,
                f"{described}; stale: last {what} {format_for_display(last, wait.tz)} is older than "
                f"{wait.stale_after} at {format_for_display(now, wait.tz)}",
                seen,
            )
    if status not in RUN_STATES:
        return Outcome(OutcomeKind.WAITING, f"{described}; unknown state {seen.status!r}; waiting", seen)
    return Outcome(OutcomeKind.WAITING, f"{described}; waiting", seen)


def evaluate_run_state(
    snapshot: RunSnapshot | None,
    *,
    target_states: frozenset[str],
    failed_states: frozenset[str],
    stale_after: timedelta | None,
    now: datetime,
    target: str,
    tz: str | tzinfo | None = None,
) -> Outcome:
    """:func:`decide` with the wait spelled out as keywords (the sensor's and trigger's call)."""
    wait = Wait(target_states, failed_states, stale_after, target, tz)
    return decide(snapshot, wait, now)


def read_run_state(
    runs: PipelineRunLogsReadApi,
    *,
    pipeline_id: str,
    run_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> RunSnapshot | None:
    """One look at the run; None when it does not exist (yet).

    With ``run_id``: one strongly consistent projected GetItem. Without: the newest run of the
    pipeline started in ``[since, until]`` is found through the GSI (eventually consistent), then
    read the same way from the base table, so the state judged is never a stale index copy.
    """
    if run_id is None:
        latest = runs.latest_summary(pipeline_id, since=since, until=until)
        if latest is None:
            return None
        run_id = latest.run_id
    item = runs.get_attributes(run_id, pipeline_id, RUN_STATE_ATTRIBUTES, consistent=True)
    return RunSnapshot.from_item(run_id, pipeline_id, item) if item is not None else None

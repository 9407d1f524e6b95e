"""Ending a run from Airflow: ONE policy for ``EndPipelineRunOperator`` and the end notifiers.

Whoever ends a run from outside its Spark driver (the end operator, ``PipelineRunSuccessNotifier``
/ ``PipelineRunFailureNotifier`` and their old names ``record_run_success`` /
``record_run_failure``) calls :func:`end_run`; only how its verdict is made (an argument, the
watched tasks' states, the callback's exception) and how the outcome is reported (a task that
fails, a log line) differ. The policy, decided by the pure :func:`decide_end` on the run read
strongly consistent:

=======================================================  ==========================================
the run as read                                          what the end does
=======================================================  ==========================================
none                                                     ``ItemNotFoundError``: never started
ended as the verdict                                     nothing: already ended (a duplicate)
ended otherwise                                          nothing: the stored end wins, reported
RUNNING, attempt claimed by a driver, heartbeat alive,   wait (poll) for the driver's own end, at
wait budget left                                         most ``driver_end_timeout`` seconds
RUNNING otherwise (unclaimed, stale, or waited enough)   record the verdict, fenced on the attempt
                                                         read: it never ends a newer attempt
=======================================================  ==========================================

A fenced end refused because the run changed since the read is decided again on the run read
then: ended means reported as above, still RUNNING (a newer attempt) means the refusal is raised.
No Airflow import: the core's.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import ConflictError, ItemNotFoundError, RegistryValidationError, WatermarkConflictError
from ..run_env import DEFAULT_LEASE_SECONDS
from ..timezones import format_for_display, utc_now
from .status import RunStatus

if TYPE_CHECKING:
    from .models import PipelineRunLog, RunFinish

log = logging.getLogger(__name__)

#: how long an end from Airflow waits for a live driver's own end, by default (seconds)
DEFAULT_DRIVER_END_TIMEOUT = 120.0
#: seconds between two reads while waiting
DEFAULT_DRIVER_POLL_INTERVAL = 2.0


class EndStep(StrEnum):
    """What an end from Airflow does on the run as read."""

    #: no run: it was never started (``ItemNotFoundError``)
    NEVER_STARTED = "never_started"
    #: a driver claimed the RUNNING attempt and is alive: wait for its own end
    WAIT_FOR_DRIVER = "wait_for_driver"
    #: record the verdict, fenced on ``EndDecision.attempt_id``
    RECORD = "record"
    #: the run already ended as the verdict: nothing to write
    ALREADY_ENDED = "already_ended"
    #: the run ended otherwise (e.g. the driver recorded CANCELLED): the stored end wins
    ENDED_OTHERWISE = "ended_otherwise"


@dataclass(frozen=True)
class EndDecision:
    """One step of the policy: what to do and why (for the caller's log)."""

    step: EndStep
    reason: str
    #: the attempt a RECORD is fenced on (None: a run written before attempts existed)
    attempt_id: str | None = None


def decide_end(
    seen: PipelineRunLog | None, verdict: RunStatus, *, lease: timedelta, now: datetime, may_wait: bool
) -> EndDecision:
    """What an end from Airflow with ``verdict`` does on the run as ``seen`` (None: no run) at ``now``.

    ``may_wait``: the caller still has wait budget (``driver_end_timeout`` not spent).
    """
    if seen is None:
        return EndDecision(EndStep.NEVER_STARTED, f"the run was never started, so {verdict.value} cannot be recorded")
    if seen.status is not RunStatus.RUNNING:
        if seen.status is verdict:
            return EndDecision(EndStep.ALREADY_ENDED, f"already ended {seen.status.value}: nothing to do")
        return EndDecision(
            EndStep.ENDED_OTHERWISE, f"ended {seen.status.value}; {verdict.value} is not recorded over it"
        )
    attempt = seen.current_attempt_id
    if seen.attempt_claimed and not seen.is_stale(lease, now):
        if may_wait:
            return EndDecision(
                EndStep.WAIT_FOR_DRIVER,
                f"attempt {seen.attempt_id} of task {seen.task_id} (try {seen.try_number}) is alive in its driver",
                attempt,
            )
        return EndDecision(EndStep.RECORD, f"the driver of attempt {seen.attempt_id} did not end it in time", attempt)
    if seen.attempt_claimed:
        return EndDecision(EndStep.RECORD, f"attempt {seen.attempt_id}'s driver sent no heartbeat for {lease}", attempt)
    return EndDecision(EndStep.RECORD, f"attempt {seen.attempt_id} is RUNNING, no driver claimed it", attempt)


class EndOutcome(StrEnum):
    """How an end from Airflow ended."""

    #: this call recorded the verdict
    RECORDED = "recorded"
    #: the run had already ended as the verdict (a duplicate: another end got there first)
    ALREADY_ENDED = "already_ended"
    #: the run had ended otherwise; the stored end is kept
    ENDED_OTHERWISE = "ended_otherwise"


@dataclass(frozen=True)
class RunEnd:
    """An end from Airflow: the run, the verdict and, for FAILED/CANCELLED, its error."""

    run_id: str
    pipeline_id: str
    status: RunStatus
    error_type: str | None = None
    error_message: str | None = None
    #: seconds to wait for a live driver's own end (0: do not wait)
    driver_end_timeout: float = DEFAULT_DRIVER_END_TIMEOUT
    #: seconds between two reads while waiting
    driver_poll_interval: float = DEFAULT_DRIVER_POLL_INTERVAL
    #: a claimed attempt whose heartbeat is older than this is not waited for
    lease_seconds: float = DEFAULT_LEASE_SECONDS
    #: the timezone of the times in the log lines
    display_tz: str | tzinfo | None = None
    #: ``{table_id: new high bound}`` committed with a SUCCESS end (ignored otherwise; see the
    #: README, "Incremental loads")
    watermarks: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", parse_end_status(self.status))
        check_end_timing(
            driver_end_timeout=self.driver_end_timeout,
            driver_poll_interval=self.driver_poll_interval,
            lease_seconds=self.lease_seconds,
        )


def parse_end_status(value: RunStatus | str) -> RunStatus:
    """``value`` (any case, surrounding blanks ignored) as SUCCESS, FAILED or CANCELLED."""
    text = str(getattr(value, "value", value)).strip().upper()
    if text not in {s.value for s in RunStatus} or text == RunStatus.RUNNING.value:
        raise RegistryValidationError(f"status must be SUCCESS, FAILED or CANCELLED, got {value!r}", field="status")
    return RunStatus(text)


def check_end_timing(*, driver_end_timeout: float, driver_poll_interval: float, lease_seconds: float) -> None:
    """The wait's numbers: a timeout of 0 or more seconds, a positive poll interval and lease."""
    for name, value in (
        ("driver_end_timeout", driver_end_timeout),
        ("driver_poll_interval", driver_poll_interval),
        ("lease_seconds", lease_seconds),
    ):
        if value < 0 or (name != "driver_end_timeout" and value == 0):
            raise RegistryValidationError(f"{name} must be a positive number of seconds, got {value!r}", field=name)


@dataclass(frozen=True)
class EndResult:
    """What :func:`end_run` did, and the run as stored after it."""

    outcome: EndOutcome
    run: PipelineRunLog
    verdict: RunStatus
    #: the attempt whose driver was waited for (None: no wait)
    waited_for: str | None = None

    @property
    def recorded(self) -> bool:
        return self.outcome is EndOutcome.RECORDED


class EndLog(Protocol):
    """Where :func:`end_run` says that it waits (a ``logging.Logger``, or an operator's ``self.log``)."""

    def info(self, msg: Any, /, *args: Any) -> Any: ...

    def warning(self, msg: Any, /, *args: Any) -> Any: ...


class RunEndWriter(Protocol):
    """What :func:`end_run` needs of ``PipelineRunLogsWriteApi``."""

    def current(self, run_id: str, pipeline_id: str) -> PipelineRunLog | None: ...

    def finish(self, data: RunFinish) -> PipelineRunLog: ...


def end_run(
    writes: RunEndWriter,
    end: RunEnd,
    *,
    logger: EndLog = log,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> EndResult:
    """End ``end.run_id`` from Airflow with ``end.status``, by the policy of :func:`decide_end`.

    A SUCCESS end commits ``end.watermarks`` with it (one transaction); ``WatermarkConflictError``
    when one moved since the run read it (the run is then recorded FAILED with that error).
    Raises ``ItemNotFoundError`` for a run never started (or gone), and the ``ConflictError`` of a
    fenced end refused because a newer attempt runs; any other registry error as the read or write
    raised it.
    """
    from .models import RunFinish

    lease = timedelta(seconds=end.lease_seconds)
    deadline = monotonic() + end.driver_end_timeout
    waited_for: str | None = None
    seen = writes.current(end.run_id, end.pipeline_id)
    while True:
        may_wait = end.driver_end_timeout > 0 and monotonic() < deadline
        decision = decide_end(seen, end.status, lease=lease, now=utc_now(), may_wait=may_wait)
        if decision.step is not EndStep.WAIT_FOR_DRIVER:
            break
        if waited_for is None:
            assert seen is not None
            logger.info(
                "Run %s is RUNNING in attempt %s of task %s (try %d), last heartbeat %s: waiting up to %ss for the "
                "driver to record its own end",
                end.run_id,
                seen.attempt_id,
                seen.task_id,
                seen.try_number,
                format_for_display(seen.heartbeat_at, end.display_tz),
                end.driver_end_timeout,
            )
            waited_for = seen.attempt_id or "-"
        sleep(min(end.driver_poll_interval, max(0.0, deadline - monotonic())))
        seen = writes.current(end.run_id, end.pipeline_id)
    if waited_for is not None and decision.step is EndStep.RECORD:
        logger.warning(
            "Run %s: the driver of attempt %s did not record its end within %ss",
            end.run_id,
            waited_for,
            end.driver_end_timeout,
        )
    if decision.step is EndStep.NEVER_STARTED:
        raise ItemNotFoundError(
            f"run {end.run_id!r} of pipeline {end.pipeline_id!r} was never started, so {end.status.value} cannot be "
            "recorded"
        )
    assert seen is not None
    if decision.step is not EndStep.RECORD:
        return EndResult(EndOutcome(decision.step.value), seen, end.status, waited_for)
    failed = end.status is not RunStatus.SUCCESS
    end_time = utc_now()
    try:
        run = writes.finish(
            RunFinish(
                run_id=end.run_id,
                pipeline_id=end.pipeline_id,
                status=end.status,
                end_time=end_time,
                attempt_id=decision.attempt_id,
                error_type=end.error_type if failed else None,
                error_message=end.error_message if failed else None,
                watermarks={} if failed else dict(end.watermarks),
            )
        )
    except WatermarkConflictError:
        raise  # a watermark moved since the run read it: the run is recorded FAILED, the end refused
    except ConflictError as exc:  # ended, or replaced by a newer attempt, since it was read
        latest = writes.current(end.run_id, end.pipeline_id)
        if latest is None:
            raise ItemNotFoundError(
                f"run {end.run_id!r} of pipeline {end.pipeline_id!r} disappeared while ending it"
            ) from exc
        if latest.status is RunStatus.RUNNING:
            raise  # a newer attempt runs: not this end's to end
        logger.warning("Run %s of pipeline %r changed while ending it: %s", end.run_id, end.pipeline_id, exc.message)
        again = decide_end(latest, end.status, lease=lease, now=utc_now(), may_wait=False)
        return EndResult(EndOutcome(again.step.value), latest, end.status, waited_for)
    if run.end_time != end_time:  # the same end was recorded by another writer first
        return EndResult(EndOutcome.ALREADY_ENDED, run, end.status, waited_for)
    return EndResult(EndOutcome.RECORDED, run, end.status, waited_for)

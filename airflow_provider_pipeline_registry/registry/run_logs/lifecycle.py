"""The run lifecycle's decisions, as pure functions: the protocol, apart from the storage.

``commands.py`` (``PipelineRunLogsWriteApi``) is the storage side: it reads, makes the ONE
conditional write a decision names, and when DynamoDB refuses that condition it decides again
on the item the refusal returned (``ALL_OLD``, or one consistent read). This module is the
protocol side: given what was seen, what is asked and the time, what happens. No boto3, no
gateway, no clock read (``now`` is an argument) and no randomness (tokens come in the request),
so every rule is a table row in ``tests/unit/test_run_lifecycle.py`` (the README's "Attempts and
fencing" and "Run lifecycle" tables, row by row).

* :func:`decide` -- a start (``StartPipelineRunOperator``) or a join (the run logger in the
  job's driver) on the run as seen (``None``: no run yet): create, claim, supersede, restart,
  take over, unchanged (a duplicate or our own replayed write) or refuse; with the update to
  write and the condition that must still hold.
* :func:`end_fence` / :func:`decide_refused_end` -- an end is written blind (one call in the
  common case) under :func:`end_fence`; a refused end is explained on the item seen after it.
* :func:`running_fence` / :func:`decide_refused_heartbeat` -- the same for heartbeats and
  metric flushes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from enum import StrEnum
from typing import Any

from ..conditions import Condition, Update, eq, not_exists, same_as
from ..errors import (
    AttemptConflictError,
    AttemptSupersededError,
    ConflictError,
    ItemNotFoundError,
    RegistryError,
)
from ..model import extract_model_metadata
from ..run_env import DEFAULT_LEASE_SECONDS
from ..timezones import format_for_display
from ..write_tokens import CREATE_TOKEN, attempt_applied, with_attempt_token
from .models import LEASE_EXPIRED, MAX_ATTEMPT_HISTORY, SUPERSEDED, PipelineRunLog, RunFinish, RunStart
from .status import RunStatus

#: how long a RUNNING attempt without a heartbeat keeps its lease (the run logger's default)
DEFAULT_LEASE = timedelta(seconds=DEFAULT_LEASE_SECONDS)

_START_RESETS = ("end_time", "error_type", "error_message")
#: what an attempt staged (``stage_watermark``): dropped by every new attempt and every end
WATERMARK_STAGE_FIELDS = ("watermark_staged", "watermark_pending")
_SPARK_FIELDS = ("spark_application_id", "spark_application_name", "spark_ui_url")
_IDENTITY_FIELDS = ("dag_id", "dag_run_id", "task_id", "map_index", "logical_date", *_SPARK_FIELDS)
_KEY_STRINGS = extract_model_metadata(PipelineRunLog).index_key_attributes


class Opener(StrEnum):
    """Who asks for the attempt."""

    #: ``StartPipelineRunOperator`` (``PipelineRunLogsWriteApi.start``): opens an attempt for a driver to claim
    START = "start"
    #: the run logger in the job's driver (``PipelineRunLogsWriteApi.join``): makes its attempt the current one
    JOIN = "join"


class Outcome(StrEnum):
    """What a decision does."""

    #: no run yet: a new attempt creates the item
    CREATE = "create"
    #: the driver claims the RUNNING attempt the start operator opened (it takes the driver's id)
    CLAIM = "claim"
    #: a higher try replaces the RUNNING attempt (it goes into the history as ``SUPERSEDED``)
    SUPERSEDE = "supersede"
    #: a higher try starts over an ended run (the ended attempt goes into the history as it ended)
    RESTART = "restart"
    #: the RUNNING attempt's lease expired: taken over (history: ``LEASE_EXPIRED``)
    TAKE_OVER = "take_over"
    #: nothing to write: the seen run is the answer (a duplicate, or our own write replayed)
    UNCHANGED = "unchanged"
    #: refused: ``Decision.error`` is raised with ``Decision.reason``
    REFUSE = "refuse"
    #: the run does not exist (an end or heartbeat of a run never started)
    NOT_FOUND = "not_found"


#: the outcomes that write (with ``Decision.update`` under ``Decision.condition``)
WRITES = frozenset({Outcome.CREATE, Outcome.CLAIM, Outcome.SUPERSEDE, Outcome.RESTART, Outcome.TAKE_OVER})
#: the outcomes that write a new attempt (and so the run's watermark snapshot, when it has none)
NEW_ATTEMPTS = frozenset({Outcome.CREATE, Outcome.SUPERSEDE, Outcome.RESTART, Outcome.TAKE_OVER})


def needs_watermarks(decision: Decision, seen: PipelineRunLog | None) -> bool:
    """The decision writes a new attempt on a run that has no watermark snapshot yet (or whose
    SUCCESS committed it): the caller reads one and decides again with it in the request."""
    if decision.outcome not in NEW_ATTEMPTS:
        return False
    return seen is None or seen.watermarks is None or seen.status is RunStatus.SUCCESS


@dataclass(frozen=True)
class AttemptRequest:
    """A start or a join, as :func:`decide` needs it.

    ``run`` is the validated input (its ``attempt_id``, ``try_number``, ``task_id``: the
    asking task's own). ``opened_attempt_id`` (the attempt the start operator opened), ``lease``
    and ``try_number_known`` are the join's (see ``PipelineRunLogsWriteApi.join``). ``expire_at``
    (the TTL, from the settings) and ``create_token`` (a fresh token, written only by the write
    that creates the item) are given by the caller so the decision stays pure; ``display_tz`` is
    the timezone of the messages.
    """

    run: RunStart
    opener: Opener = Opener.START
    opened_attempt_id: str | None = None
    lease: timedelta = DEFAULT_LEASE
    try_number_known: bool = True
    expire_at: int | None = None
    create_token: str | None = None
    display_tz: str | tzinfo | None = None
    #: the watermarks the run reads (``WatermarkStore.snapshot``); None: not read (yet)
    watermarks: Mapping[str, Any] | None = None

    @property
    def my_try(self) -> int | None:
        """The asking task's try number, or None when a joining driver does not know its own."""
        return self.run.try_number if self.try_number_known or self.opener is Opener.START else None


@dataclass(frozen=True)
class Decision:
    """What to do on one observed state.

    A writing outcome (:data:`WRITES`) carries the ``update`` and the ``condition`` that must
    still hold for it (the seen state: if the condition fails, decide again on what is stored
    then). ``previous_status`` is what the replaced attempt becomes in the history.
    ``UNCHANGED`` returns the seen run; ``REFUSE``/``NOT_FOUND`` raise ``error(reason)``.
    """

    outcome: Outcome
    reason: str
    update: Update | None = None
    condition: Condition | None = None
    previous_status: str | None = None
    error: type[RegistryError] | None = None
    #: a notable (INFO) event rather than a routine one (DEBUG), for the caller's log
    notable: bool = False

    @property
    def writes(self) -> bool:
        return self.outcome in WRITES


# -- conditions ---------------------------------------------------------------------------------
def attempt_fence(attempt_id: str) -> Condition:
    """The run's current attempt is ``attempt_id``: its id, and the try it was recorded with is still
    the run's try (a start of the previous released version, which knows no attempts, moves
    ``try_number`` and leaves ``attempt_id``: a zombie of the replaced attempt must not pass).
    Items written before ``attempt_try_number`` existed are fenced on the id alone."""
    return eq("attempt_id", attempt_id) & (
        same_as("try_number", "attempt_try_number") | not_exists("attempt_try_number")
    )


def unchanged(seen: PipelineRunLog, *, with_heartbeat: bool = False) -> Condition:
    """The item is still the one ``seen`` (same attempt, same status, same try): the fence of a
    replace; with ``with_heartbeat`` also the same heartbeat (a takeover: of two racers one wins)."""
    # try_number too: a start of the previous released version changes it, not attempt_id
    condition: Condition = eq("status", seen.status.value) & eq("try_number", seen.try_number)
    if seen.attempt_id is not None:
        condition = condition & eq("attempt_id", seen.attempt_id)
    else:  # written before attempt ids existed
        condition = condition & not_exists("attempt_id")
    if with_heartbeat:
        if seen.heartbeat_at is not None:
            condition = condition & eq("heartbeat_at", seen.heartbeat_at)
        else:
            condition = condition & not_exists("heartbeat_at")
    return condition


def running_fence(attempt_id: str | None) -> Condition:
    """What a heartbeat or metric flush holds: the run is RUNNING (in ``attempt_id``, when named)."""
    condition: Condition = eq("status", RunStatus.RUNNING.value)
    return condition & attempt_fence(attempt_id) if attempt_id is not None else condition


def end_fence(end: RunFinish) -> Condition:
    """What an end holds: the run is RUNNING (as ``end.try_number`` / in ``end.attempt_id``, when named)."""
    condition: Condition = eq("status", RunStatus.RUNNING.value)
    if end.try_number is not None:
        condition = condition & eq("try_number", end.try_number)
    if end.attempt_id is not None:
        condition = condition & attempt_fence(end.attempt_id)
    return condition


# -- what a new attempt or a claim writes --------------------------------------------------------
def new_attempt_update(
    request: AttemptRequest, previous: PipelineRunLog | None, previous_status: str | None, now: datetime
) -> Update:
    """The write of a new attempt (``previous``: the run it replaces, moved into the history as
    ``previous_status``). A start leaves it unclaimed; a join claims it at once."""
    start = request.run
    sets: dict[str, Any] = {
        "status": RunStatus.RUNNING,
        "try_number": start.try_number,
        "start_time": start.start_time,
        "heartbeat_at": start.start_time,
        "is_running": True,
        "metrics": start.metrics,
        "attempt_id": start.attempt_id,
        "attempt_try_number": start.try_number,
        "attempt_tokens": with_attempt_token(previous.attempt_tokens if previous else [], start.attempt_id),
        "updated_at": now,
    }
    remove = [*_START_RESETS, *WATERMARK_STAGE_FIELDS]  # what an earlier attempt staged is never committed
    set_if_absent: dict[str, Any] = {}
    if request.watermarks:
        if previous is not None and previous.status is RunStatus.SUCCESS:
            # the run's SUCCESS committed what it read: a restart reads the committed values anew
            sets["watermarks"] = dict(request.watermarks)
            remove.append("watermark_commits")
        else:  # the run's snapshot, read once for its whole life: a retry or takeover keeps it
            set_if_absent["watermarks"] = dict(request.watermarks)
    sets.update({name: getattr(start, name) for name in _IDENTITY_FIELDS if getattr(start, name) is not None})
    remove.extend(n for n in _SPARK_FIELDS if getattr(start, n) is None)  # the new attempt's own Spark app
    if request.opener is Opener.JOIN:
        sets["attempt_claimed"] = True
    else:
        remove.append("attempt_claimed")
        sets["start_try_number"] = start.try_number  # a later start compares its try with this one only
        if start.task_id is not None:
            sets["start_task_id"] = start.task_id
    if previous is not None and previous_status is not None:
        history = [*previous.attempts, previous.current_attempt(previous_status)][-MAX_ATTEMPT_HISTORY:]
        sets["attempts"] = [a.storage_value() for a in history]
    if request.expire_at is not None:
        sets["expire_at"] = request.expire_at
    # written only by the write that creates the item (fenced on attribute_not_exists(run_id))
    if previous is None and request.create_token:
        set_if_absent[CREATE_TOKEN] = request.create_token
    return Update(set=sets, set_if_absent=set_if_absent, remove=tuple(remove), key_strings=_KEY_STRINGS)


def claim_update(request: AttemptRequest, seen: PipelineRunLog, now: datetime) -> Update:
    """The write of a driver claiming the attempt a start opened: it takes the driver's attempt id,
    task id and try number (when the driver knows it)."""
    start, join_try, join_task_id = request.run, request.my_try, request.run.task_id
    sets: dict[str, Any] = {
        "attempt_id": start.attempt_id,
        "attempt_try_number": join_try if join_try is not None else seen.try_number,
        "attempt_tokens": with_attempt_token(seen.attempt_tokens, start.attempt_id),
        "attempt_claimed": True,
        "heartbeat_at": start.start_time,
        "updated_at": now,
    }
    if join_task_id is not None:
        sets["task_id"] = join_task_id
    if join_try is not None:
        sets["try_number"] = join_try
    sets.update({n: getattr(start, n) for n in _SPARK_FIELDS if getattr(start, n) is not None})
    return Update(set=sets, key_strings=_KEY_STRINGS)


# -- start and join ------------------------------------------------------------------------------
def decide(seen: PipelineRunLog | None, request: AttemptRequest, now: datetime) -> Decision:
    """What a start or a join does on the run as ``seen`` (None: no run yet), at ``now``."""
    start = request.run
    if seen is None:
        update = new_attempt_update(request, None, None, now)
        return Decision(Outcome.CREATE, "no run yet: a new attempt", update, not_exists("run_id"))
    if seen.current_attempt_id is not None and seen.current_attempt_id == start.attempt_id:
        return Decision(Outcome.UNCHANGED, f"attempt {start.attempt_id} is the run's current one (a replay)")
    if request.opener is Opener.START:
        return _decide_start(seen, request, now)
    return _decide_join(seen, request, now)


def _replace(
    outcome: Outcome, reason: str, request: AttemptRequest, seen: PipelineRunLog, previous_status: str, now: datetime
) -> Decision:
    update = new_attempt_update(request, seen, previous_status, now)
    condition = unchanged(seen, with_heartbeat=outcome is Outcome.TAKE_OVER)
    return Decision(outcome, reason, update, condition, previous_status=previous_status)


def _decide_start(seen: PipelineRunLog, request: AttemptRequest, now: datetime) -> Decision:
    start = request.run
    if attempt_applied(seen.attempt_tokens, start.attempt_id):
        # our start was applied (its response lost), then another writer wrote: a driver
        # claimed it, a newer try replaced it or the run ended. Report the stored run.
        return Decision(
            Outcome.UNCHANGED, f"attempt {start.attempt_id} was opened, the run changed since", notable=True
        )
    # a start compares its try only with the start that opened the run (the same task's tries)
    opened_by = seen.start_try_number if seen.start_try_number is not None else seen.try_number
    if start.try_number > opened_by:
        if seen.status is RunStatus.RUNNING:
            reason = f"try {start.try_number} supersedes the RUNNING try {opened_by}"
            return _replace(Outcome.SUPERSEDE, reason, request, seen, SUPERSEDED, now)
        reason = f"try {start.try_number} restarts the run ended as {seen.status.value} in try {opened_by}"
        return _replace(Outcome.RESTART, reason, request, seen, seen.status.value, now)
    if seen.status is RunStatus.RUNNING and start.try_number == opened_by:
        return Decision(Outcome.UNCHANGED, f"a duplicate start of try {opened_by}: no-op")
    if seen.status is RunStatus.RUNNING:
        return Decision(
            Outcome.REFUSE,
            f"run {start.run_id!r} is RUNNING as try {opened_by}; a start for the older try {start.try_number} "
            "is refused",
            error=ConflictError,
        )
    return Decision(
        Outcome.REFUSE,
        f"run {start.run_id!r} already ended as {seen.status.value} "
        f"({format_for_display(seen.end_time, request.display_tz)}) in try {opened_by}; "
        f"a start for try {start.try_number} would reopen it and is refused",
        error=ConflictError,
    )


def last_try_of(run: PipelineRunLog, task_id: str | None) -> int | None:
    """The highest try of ``task_id`` that claimed an attempt of ``run`` (current or in the history)."""
    if task_id is None:
        return None
    tries = [a.try_number for a in run.attempts if a.task_id == task_id and a.try_number is not None]
    if run.task_id == task_id and (run.attempt_claimed or run.start_task_id != task_id):
        tries.append(run.try_number)
    return max(tries) if tries else None


def _decide_join(seen: PipelineRunLog, request: AttemptRequest, now: datetime) -> Decision:
    start, task_id, my_try = request.run, request.run.task_id, request.my_try
    who = f"task {task_id or '?'} try {my_try if my_try is not None else '?'}"

    def refuse(why: str) -> Decision:
        return Decision(
            Outcome.REFUSE,
            f"run {start.run_id!r} {why}; this driver ({who}) is not its attempt and does not start the job",
            error=AttemptConflictError,
        )

    last_try = last_try_of(seen, task_id)
    if seen.status is RunStatus.RUNNING:
        expected = request.opened_attempt_id
        if not seen.attempt_claimed and expected in (None, seen.current_attempt_id):
            reason = f"claims the unclaimed attempt {seen.attempt_id}"
            return Decision(Outcome.CLAIM, reason, claim_update(request, seen, now), unchanged(seen))
        if my_try is not None and last_try is not None and my_try > last_try:
            reason = f"try {my_try} of task {task_id} supersedes its RUNNING try {last_try}"
            return _replace(Outcome.SUPERSEDE, reason, request, seen, SUPERSEDED, now)
        if seen.is_stale(request.lease, now):
            reason = f"attempt {seen.attempt_id} sent no heartbeat for {request.lease}: taken over"
            return _replace(Outcome.TAKE_OVER, reason, request, seen, LEASE_EXPIRED, now)
        if not seen.attempt_claimed:
            return refuse(f"is RUNNING in attempt {seen.attempt_id} (not the expected {expected})")
        beat = format_for_display(seen.heartbeat_at or seen.start_time, request.display_tz)
        owner = f"task {seen.task_id or '?'} try {seen.try_number}"
        return refuse(f"is RUNNING in attempt {seen.attempt_id} of {owner}, alive (heartbeat {beat})")
    # ended: a run that ended before any try of this task claimed it counts as its try 1
    floor = last_try if last_try is not None else (1 if task_id is not None else seen.try_number)
    if my_try is not None and my_try > floor:
        reason = f"try {my_try} restarts the run ended as {seen.status.value} in try {floor} of its task"
        return _replace(Outcome.RESTART, reason, request, seen, seen.status.value, now)
    return refuse(
        f"already ended as {seen.status.value} ({format_for_display(seen.end_time, request.display_tz)}) "
        f"in try {floor} of its task"
    )


# -- heartbeats and ends -------------------------------------------------------------------------
@dataclass(frozen=True)
class Heartbeat:
    """A heartbeat or metric flush: its time (the write's own token), metrics and fence."""

    run_id: str
    pipeline_id: str
    at: datetime
    metrics: Mapping[str, int | float] = field(default_factory=dict)
    attempt_id: str | None = None


def heartbeat_applied(seen: PipelineRunLog, beat: Heartbeat) -> bool:
    """The stored run holds this very heartbeat: its time (to the microsecond) and every metric it
    wrote, in the same attempt."""
    return (
        seen.heartbeat_at is not None
        and seen.heartbeat_at == beat.at
        and all(seen.metrics.get(k) == v for k, v in beat.metrics.items())
        and (beat.attempt_id is None or seen.current_attempt_id == beat.attempt_id)
    )


def decide_refused_heartbeat(seen: PipelineRunLog | None, beat: Heartbeat) -> Decision:
    """Why a heartbeat's :func:`running_fence` failed, on the run stored after the refusal."""
    if seen is None:
        message = f"run {beat.run_id!r} of pipeline {beat.pipeline_id!r} not found"
        return Decision(Outcome.NOT_FOUND, message, error=ItemNotFoundError)
    if heartbeat_applied(seen, beat):
        # replayed after a lost response, and the run ended since (an end keeps the heartbeat's
        # time and metrics): the heartbeat was applied
        return Decision(Outcome.UNCHANGED, "the heartbeat was applied, then the run ended")
    if beat.attempt_id is not None and seen.current_attempt_id != beat.attempt_id:
        return Decision(
            Outcome.REFUSE,
            f"run {beat.run_id!r} is now attempt {seen.attempt_id} ({seen.status.value}, try "
            f"{seen.try_number}); the write of attempt {beat.attempt_id} is refused",
            error=AttemptSupersededError,
        )
    return Decision(Outcome.REFUSE, f"run {beat.run_id!r} already ended as {seen.status.value}", error=ConflictError)


def ended_in_history(seen: PipelineRunLog, end: RunFinish) -> bool:
    """``end`` was recorded (an end replayed after a newer attempt began over it): the attempt it
    names is in the history with that end status. Only an end fenced on its attempt id: an end
    named by try number alone stays refused as stale once a newer try runs."""
    return end.attempt_id is not None and any(
        a.attempt_id == end.attempt_id and a.status == end.status.value for a in seen.attempts
    )


def decide_refused_end(seen: PipelineRunLog | None, end: RunFinish) -> Decision:
    """Why an end's :func:`end_fence` failed, on the run stored after the refusal."""
    if seen is None:
        return Decision(
            Outcome.NOT_FOUND,
            f"run {end.run_id!r} of pipeline {end.pipeline_id!r} was never started; cannot record {end.status.value}",
            error=ItemNotFoundError,
        )
    if ended_in_history(seen, end):
        return Decision(
            Outcome.UNCHANGED, f"end {end.status.value} was recorded, then a newer attempt began", notable=True
        )
    if end.attempt_id is not None and seen.current_attempt_id != end.attempt_id:
        return Decision(
            Outcome.REFUSE,
            f"run {end.run_id!r} is now attempt {seen.attempt_id} ({seen.status.value}, try "
            f"{seen.try_number}); the end {end.status.value} of attempt {end.attempt_id} is refused",
            error=AttemptSupersededError,
        )
    if seen.status is end.status:
        return Decision(Outcome.UNCHANGED, f"end {end.status.value} is a duplicate: no-op")
    if seen.status is RunStatus.RUNNING:
        return Decision(
            Outcome.REFUSE,
            f"run {end.run_id!r} is RUNNING as try {seen.try_number}, not try {end.try_number}; a stale end is refused",
            error=ConflictError,
        )
    return Decision(
        Outcome.REFUSE,
        f"run {end.run_id!r} already ended as {seen.status.value}; refusing to record {end.status.value}",
        error=ConflictError,
    )

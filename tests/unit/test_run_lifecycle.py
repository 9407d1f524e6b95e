"""The run lifecycle's protocol, as tables: every rule is one row, decided without DynamoDB.

Each row is (what the README says, the run as seen, what is asked) -> what is decided. The rows
of the README's two tables ("Attempts and fencing" and "Run lifecycle") are checked to all be
here, so the README and the code cannot drift apart. A write's condition is evaluated against
the seen run (it must hold: the write applies on that state) and against a racing change (it
must fail: the storage side then decides again on what it finds).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import Enum
from pathlib import Path
from typing import Any

import pytest
from docs.doc_pages import section

from airflow_provider_pipeline_registry.registry.attributes import decode_item
from airflow_provider_pipeline_registry.registry.conditions import (
    And,
    AttributeExists,
    AttributeNotExists,
    Compare,
    Condition,
    Not,
    Or,
    SameAs,
)
from airflow_provider_pipeline_registry.registry.errors import (
    AttemptConflictError,
    AttemptSupersededError,
    ConflictError,
    ItemNotFoundError,
    RegistryError,
)
from airflow_provider_pipeline_registry.registry.run_logs.lifecycle import (
    AttemptRequest,
    Decision,
    Heartbeat,
    Opener,
    Outcome,
    decide,
    decide_refused_end,
    decide_refused_heartbeat,
    end_fence,
    running_fence,
)
from airflow_provider_pipeline_registry.registry.run_logs.models import (
    LEASE_EXPIRED,
    SUPERSEDED,
    PipelineRunLog,
    RunFinish,
    RunStart,
)
from airflow_provider_pipeline_registry.registry.run_logs.status import RunStatus
from airflow_provider_pipeline_registry.registry.timezones import format_utc

NOW = datetime(2026, 3, 8, 7, 0, tzinfo=UTC)
LEASE = timedelta(minutes=5)
START_TASK, SPARK_TASK = "start_run", "spark_job"


# -- the world, as seen ---------------------------------------------------------------------------
def run(
    status: str = "RUNNING",
    *,
    attempt: str | None = "A",
    claimed: bool | None = None,
    task: str | None = START_TASK,
    try_number: int = 1,
    start_try: int | None = 1,
    start_task: str | None = START_TASK,
    beat_age: timedelta | None = timedelta(seconds=30),
    attempt_try: int | None = None,
    tokens: tuple[str, ...] = (),
    attempts: tuple[dict[str, Any], ...] = (),
) -> PipelineRunLog:
    """A stored run as the storage side would hand it to the decision."""
    ended = status != "RUNNING"
    return PipelineRunLog.model_validate(
        {
            "run_id": "r1",
            "pipeline_id": "p1",
            "status": status,
            "try_number": try_number,
            "task_id": task,
            "start_time": NOW - timedelta(minutes=20),
            "heartbeat_at": NOW - beat_age if beat_age is not None else None,
            "end_time": NOW - timedelta(minutes=1) if ended else None,
            "attempt_id": attempt,
            "attempt_try_number": attempt_try if attempt_try is not None else (try_number if attempt else None),
            "attempt_claimed": claimed,
            "start_task_id": start_task,
            "start_try_number": start_try,
            "attempt_tokens": list(tokens or ((attempt,) if attempt else ())),
            "attempts": list(attempts),
        }
    )


def start(try_number: int = 1, attempt: str = "S") -> AttemptRequest:
    """``StartPipelineRunOperator`` (task ``start_run``) asks for an attempt."""
    body = RunStart(run_id="r1", pipeline_id="p1", task_id=START_TASK, try_number=try_number, attempt_id=attempt)
    return AttemptRequest(run=body, opener=Opener.START, create_token="c1", display_tz="UTC")


def join(
    try_number: int = 1,
    *,
    task: str = SPARK_TASK,
    attempt: str = "D",
    expected: str | None = "A",
    known: bool = True,
) -> AttemptRequest:
    """The run logger of task ``task``, try ``try_number``, expecting attempt ``expected``, joins."""
    body = RunStart(run_id="r1", pipeline_id="p1", task_id=task, try_number=try_number, attempt_id=attempt)
    return AttemptRequest(
        run=body,
        opener=Opener.JOIN,
        opened_attempt_id=expected,
        lease=LEASE,
        try_number_known=known,
        create_token="c1",
        display_tz="UTC",
    )


def finish(status: str = "SUCCESS", *, attempt: str | None = None, try_number: int | None = None) -> RunFinish:
    return RunFinish(run_id="r1", pipeline_id="p1", status=status, attempt_id=attempt, try_number=try_number)


def beat(attempt: str | None = "A", at: datetime = NOW, metrics: Mapping[str, int | float] | None = None) -> Heartbeat:
    return Heartbeat("r1", "p1", at, dict(metrics or {}), attempt)


# -- a condition evaluated on a stored item (what DynamoDB does with a ConditionExpression) -------
def _stored(value: Any) -> Any:
    if isinstance(value, datetime):
        return format_utc(value)
    if isinstance(value, Enum):
        return value.value
    return value


def holds(condition: Condition, seen: PipelineRunLog | None) -> bool:
    item: dict[str, Any] = decode_item(seen.to_dynamodb_item()) if seen is not None else {}
    return _holds(condition, item)


def _holds(condition: Condition, item: Mapping[str, Any]) -> bool:
    if isinstance(condition, And):
        return all(_holds(p, item) for p in condition.parts)
    if isinstance(condition, Or):
        return any(_holds(p, item) for p in condition.parts)
    if isinstance(condition, Not):
        return not _holds(condition.part, item)
    if isinstance(condition, AttributeExists):
        return condition.name in item
    if isinstance(condition, AttributeNotExists):
        return condition.name not in item
    if isinstance(condition, SameAs):
        return condition.name in item and item.get(condition.name) == item.get(condition.other)
    if isinstance(condition, Compare) and condition.op in ("=", "<>"):
        equal = condition.name in item and item[condition.name] == _stored(condition.value)
        return equal if condition.op == "=" else not equal
    raise AssertionError(f"no evaluator for {condition!r}")


# -- the rows -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Row:
    readme: str  # the README row (first column) this row is an instance of
    seen: PipelineRunLog | None
    request: AttemptRequest
    outcome: Outcome
    previous_status: str | None = None  # what the replaced attempt becomes in the history
    error: type[RegistryError] | None = None
    #: a change that, racing in after the decision, must make the write's condition fail
    race: Callable[[PipelineRunLog], PipelineRunLog] | None = None
    note: str = ""


def _changed(**values: Any) -> Callable[[PipelineRunLog], PipelineRunLog]:
    return lambda seen: seen.model_copy(update=values)


# The README table "Attempts and fencing" (the run logger joining the run), row by row.
JOIN_ROWS = [
    Row("none", None, join(), Outcome.CREATE, note="a job run without a start operator"),
    Row(
        "RUNNING in attempt `A`, not yet claimed by a driver",
        run(),
        join(),
        Outcome.CLAIM,
        race=_changed(attempt_claimed=True, attempt_id="D2"),
        note="the first driver to claim wins",
    ),
    Row(
        "RUNNING in attempt `A`, not yet claimed by a driver",
        run(attempt=None, start_try=None, start_task=None, tokens=()),
        join(expected=None),
        Outcome.CLAIM,
        note="a run the previous release opened (no attempt fields) is claimed as unclaimed",
    ),
    Row(
        "RUNNING in an attempt of task `T` with a lower try",
        run(attempt="D1", claimed=True, task=SPARK_TASK, try_number=1),
        join(2),
        Outcome.SUPERSEDE,
        previous_status=SUPERSEDED,
        race=_changed(attempt_id="D9"),
        note="Airflow retried T",
    ),
    Row(
        "RUNNING, heartbeat older than `lease_seconds`",
        run(attempt="D1", claimed=True, task=SPARK_TASK, beat_age=LEASE + timedelta(seconds=1)),
        join(1, attempt="D2"),
        Outcome.TAKE_OVER,
        previous_status=LEASE_EXPIRED,
        race=_changed(heartbeat_at=NOW),
        note="fenced on the attempt AND its heartbeat: of two racers one wins",
    ),
    Row(
        "RUNNING otherwise (e.g. try 2 of `T` alive, or another attempt than `A` unclaimed)",
        run(attempt="D2", claimed=True, task=SPARK_TASK, try_number=2),
        join(1),
        Outcome.REFUSE,
        error=AttemptConflictError,
        note="a late try-1 driver while try 2 runs",
    ),
    Row(
        "RUNNING otherwise (e.g. try 2 of `T` alive, or another attempt than `A` unclaimed)",
        run(attempt="B"),
        join(expected="A"),
        Outcome.REFUSE,
        error=AttemptConflictError,
        note="another attempt than the expected one, unclaimed",
    ),
    Row(
        "RUNNING otherwise (e.g. try 2 of `T` alive, or another attempt than `A` unclaimed)",
        run(attempt="D1", claimed=True, task=SPARK_TASK, beat_age=LEASE),
        join(1, attempt="D2"),
        Outcome.REFUSE,
        error=AttemptConflictError,
        note="a heartbeat exactly lease old is alive",
    ),
    Row(
        "RUNNING otherwise (e.g. try 2 of `T` alive, or another attempt than `A` unclaimed)",
        run(attempt="D1", claimed=True, task=SPARK_TASK, try_number=1),
        join(5, known=False),
        Outcome.REFUSE,
        error=AttemptConflictError,
        note="a driver without a try number of its own never supersedes by try",
    ),
    Row(
        "ended, and `n` is higher than every try of `T` recorded on the run",
        run("FAILED", attempt="D1", claimed=True, task=SPARK_TASK, try_number=1),
        join(2),
        Outcome.RESTART,
        previous_status="FAILED",
        note="the Spark task retried on its own: Load and Start did not rerun",
    ),
    Row(
        "ended, and `n` is higher than every try of `T` recorded on the run",
        run("SUCCESS"),
        join(2),
        Outcome.RESTART,
        previous_status="SUCCESS",
        note="ended before any try of T claimed it: counts as T's try 1",
    ),
    Row(
        "ended otherwise",
        run("SUCCESS"),
        join(1),
        Outcome.REFUSE,
        error=AttemptConflictError,
        note="a late try-1 driver never reopens a finished run",
    ),
    Row(
        "ended otherwise",
        run("FAILED", attempt="D2", claimed=True, task=SPARK_TASK, try_number=2),
        join(2, attempt="D3"),
        Outcome.REFUSE,
        error=AttemptConflictError,
    ),
]

# Beyond the table: replays and other versions (README "Other versions and replays").
REPLAY_ROWS = [
    Row("own attempt", run(attempt="D", claimed=True, task=SPARK_TASK), join(attempt="D"), Outcome.UNCHANGED),
    Row("own attempt", run(attempt="S"), start(attempt="S"), Outcome.UNCHANGED, note="a start replayed"),
    Row(
        "own attempt, claimed since",
        run(attempt="D", claimed=True, task=SPARK_TASK, tokens=("S", "D")),
        start(attempt="S"),
        Outcome.UNCHANGED,
        note="a start replayed after a driver claimed its attempt finds its id in attempt_tokens",
    ),
    Row(
        "previous release moved the try",
        run(attempt="D1", claimed=True, task=SPARK_TASK, try_number=2, attempt_try=1, beat_age=timedelta(0)),
        join(1, attempt="D1"),
        Outcome.REFUSE,
        error=AttemptConflictError,
        note="the zombie of the attempt a previous-release start replaced is not the current attempt",
    ),
]

# The README table "Run lifecycle": (call, column) -> what happens. Starts are decisions; a
# heartbeat or an end is one blind write under its fence, and a refusal is explained on what is
# stored then.
START_ROWS = [
    Row("`start` (same try)|on a RUNNING run (same try)", run(), start(1), Outcome.UNCHANGED),
    Row("`start` (same try)|on a finished run", run("SUCCESS"), start(1), Outcome.REFUSE, error=ConflictError),
    Row(
        "`start` (higher `try_number`)|on a RUNNING run (same try)",
        run(),
        start(2),
        Outcome.SUPERSEDE,
        previous_status=SUPERSEDED,
        race=_changed(status=RunStatus.SUCCESS),
    ),
    Row(
        "`start` (higher `try_number`)|on a finished run",
        run("FAILED"),
        start(2),
        Outcome.RESTART,
        previous_status="FAILED",
        race=_changed(try_number=3),
    ),
    Row(
        "`start` (lower `try_number`)|on a RUNNING run (same try)",
        run(try_number=2, start_try=2, attempt_try=2),
        start(1),
        Outcome.REFUSE,
        error=ConflictError,
    ),
    Row(
        "`start` (lower `try_number`)|on a finished run",
        run("SUCCESS", try_number=2, start_try=2),
        start(1),
        Outcome.REFUSE,
        error=ConflictError,
    ),
    Row(
        "`start` compares with the start's own try",
        run(attempt="D3", claimed=True, task=SPARK_TASK, try_number=3, start_try=1),
        start(1),
        Outcome.UNCHANGED,
        note="a driver's try 3 is not the start task's try",
    ),
]


def _check(row: Row, decision: Decision) -> None:
    assert decision.outcome is row.outcome, (row.note, decision.reason)
    assert decision.writes is (
        row.outcome in {Outcome.CREATE, Outcome.CLAIM, Outcome.SUPERSEDE, Outcome.RESTART, Outcome.TAKE_OVER}
    )
    if row.error is not None:
        assert decision.error is row.error, decision.reason
        assert "r1" in decision.reason
    if not decision.writes:
        assert decision.update is None
        assert decision.condition is None
        return
    assert decision.update is not None
    assert decision.condition is not None
    assert holds(decision.condition, row.seen), "the write must apply on the state it was decided on"
    sets = decision.update.set
    if row.outcome is Outcome.CLAIM:
        assert sets["attempt_id"] == row.request.run.attempt_id
        assert sets["attempt_claimed"] is True
        assert "attempts" not in sets  # a claim replaces no attempt
        return
    assert sets["status"] is RunStatus.RUNNING
    assert sets["attempt_id"] == row.request.run.attempt_id
    assert sets["try_number"] == sets["attempt_try_number"] == row.request.run.try_number
    assert row.request.run.attempt_id in sets["attempt_tokens"]
    if row.seen is None:
        assert decision.update.set_if_absent == {"create_token": "c1"}
        assert "attempts" not in sets
    else:
        assert decision.update.set_if_absent == {}
        history = sets["attempts"]
        assert history[-1]["attempt_id"] == row.seen.attempt_id
        assert history[-1]["status"] == decision.previous_status == row.previous_status
    if row.request.opener is Opener.JOIN:
        assert sets["attempt_claimed"] is True
        assert "start_try_number" not in sets
    else:
        assert "attempt_claimed" in decision.update.remove
        assert sets["start_try_number"] == row.request.run.try_number


@pytest.mark.parametrize("row", JOIN_ROWS + REPLAY_ROWS + START_ROWS, ids=lambda r: f"{r.readme} [{r.note}]")
def test_decide(row: Row) -> None:
    decision = decide(row.seen, row.request, NOW)
    _check(row, decision)
    if row.race is not None and row.seen is not None:
        assert decision.condition is not None
        assert not holds(decision.condition, row.race(row.seen)), "a racing write must make this one fail"


def test_a_refused_create_decides_again_on_what_is_stored() -> None:
    """The first round assumes no run; the refusal's item is decided on like any other."""
    first = decide(None, join(), NOW)
    assert first.outcome is Outcome.CREATE
    stored = run()
    assert not holds(first.condition or Condition(), stored)
    assert decide(stored, join(), NOW).outcome is Outcome.CLAIM


def test_deciding_reads_no_clock_and_writes_the_given_time() -> None:
    later = NOW + timedelta(hours=1)
    stale_then = run(attempt="D1", claimed=True, task=SPARK_TASK, beat_age=timedelta(minutes=1))
    assert decide(stale_then, join(attempt="D2"), NOW).outcome is Outcome.REFUSE
    taken = decide(stale_then, join(attempt="D2"), later)
    assert taken.outcome is Outcome.TAKE_OVER
    assert taken.update is not None
    assert taken.update.set["updated_at"] == later


def test_history_is_bounded() -> None:
    old = tuple({"attempt_id": f"old{i}", "status": "FAILED", "try_number": i} for i in range(10))
    decision = decide(run("FAILED", attempts=old), start(2), NOW)
    history = decision.update.set["attempts"] if decision.update else []
    assert len(history) == 10
    assert history[0]["attempt_id"] == "old1"
    assert history[-1]["attempt_id"] == "A"


# -- heartbeats and ends: a blind write under a fence, a refusal explained --------------------------
@dataclass(frozen=True)
class FenceRow:
    readme: str
    seen: PipelineRunLog | None
    fence: Condition
    explain: Callable[[PipelineRunLog | None], Decision]
    applies: bool  # the fence holds on the seen run: the write is recorded
    outcome: Outcome | None = None  # when refused: what the refusal means
    error: type[RegistryError] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


FENCE_ROWS = [
    FenceRow(
        "`heartbeat`|on a RUNNING run (same try)",
        run(),
        running_fence("A"),
        lambda s: decide_refused_heartbeat(s, beat()),
        True,
    ),
    FenceRow(
        "`heartbeat`|on a finished run",
        run("SUCCESS"),
        running_fence("A"),
        lambda s: decide_refused_heartbeat(s, beat(at=NOW + timedelta(seconds=1))),
        False,
        Outcome.REFUSE,
        ConflictError,
    ),
    FenceRow(
        "heartbeat of a zombie attempt",
        run(attempt="B"),
        running_fence("A"),
        lambda s: decide_refused_heartbeat(s, beat("A")),
        False,
        Outcome.REFUSE,
        AttemptSupersededError,
    ),
    FenceRow(
        "heartbeat replayed after the run ended",
        run("SUCCESS", beat_age=timedelta(0)),
        running_fence("A"),
        lambda s: decide_refused_heartbeat(s, beat("A", at=NOW)),
        False,
        Outcome.UNCHANGED,
    ),
    FenceRow(
        "heartbeat of a run never started",
        None,
        running_fence(None),
        lambda s: decide_refused_heartbeat(s, beat(None)),
        False,
        Outcome.NOT_FOUND,
        ItemNotFoundError,
    ),
    FenceRow(
        "`finish` (same status)|on a RUNNING run (same try)",
        run(),
        end_fence(finish("SUCCESS", attempt="A")),
        lambda s: decide_refused_end(s, finish("SUCCESS", attempt="A")),
        True,
    ),
    FenceRow(
        "`finish` (same status)|on a finished run",
        run("SUCCESS"),
        end_fence(finish("SUCCESS", attempt="A")),
        lambda s: decide_refused_end(s, finish("SUCCESS", attempt="A")),
        False,
        Outcome.UNCHANGED,
    ),
    FenceRow(
        "`finish` (other status)|on a RUNNING run (same try)",
        run(),
        end_fence(finish("FAILED")),
        lambda s: decide_refused_end(s, finish("FAILED")),
        True,
    ),
    FenceRow(
        "`finish` (other status)|on a finished run",
        run("SUCCESS"),
        end_fence(finish("FAILED")),
        lambda s: decide_refused_end(s, finish("FAILED")),
        False,
        Outcome.REFUSE,
        ConflictError,
    ),
    FenceRow(
        "`finish(try_number=n)` with another try running|on a RUNNING run (same try)",
        run(try_number=2),
        end_fence(finish("SUCCESS", try_number=1)),
        lambda s: decide_refused_end(s, finish("SUCCESS", try_number=1)),
        False,
        Outcome.REFUSE,
        ConflictError,
    ),
    FenceRow(
        "end of a zombie attempt",
        run(attempt="B"),
        end_fence(finish("FAILED", attempt="A")),
        lambda s: decide_refused_end(s, finish("FAILED", attempt="A")),
        False,
        Outcome.REFUSE,
        AttemptSupersededError,
    ),
    FenceRow(
        "end replayed after a newer attempt began",
        run(
            attempt="B", try_number=2, start_try=2, attempts=({"attempt_id": "A", "status": "FAILED", "try_number": 1},)
        ),
        end_fence(finish("FAILED", attempt="A")),
        lambda s: decide_refused_end(s, finish("FAILED", attempt="A")),
        False,
        Outcome.UNCHANGED,
    ),
    FenceRow(
        "end of a zombie after a previous-release start moved the try",
        run(try_number=2, attempt_try=1),
        end_fence(finish("FAILED", attempt="A")),
        lambda s: decide_refused_end(s, finish("FAILED", attempt="A")),
        False,
        Outcome.REFUSE,
        AttemptSupersededError,
    ),
    FenceRow(
        "end of a run never started",
        None,
        end_fence(finish()),
        lambda s: decide_refused_end(s, finish()),
        False,
        Outcome.NOT_FOUND,
        ItemNotFoundError,
    ),
]


@pytest.mark.parametrize("row", FENCE_ROWS, ids=lambda r: r.readme)
def test_fenced_writes(row: FenceRow) -> None:
    assert holds(row.fence, row.seen) is row.applies
    if row.applies:
        return
    decision = row.explain(row.seen)
    assert decision.outcome is row.outcome, decision.reason
    assert decision.error is row.error
    assert not decision.writes


# -- the README's tables are all here -------------------------------------------------------------
def _readme_table(title: str) -> tuple[list[str], list[list[str]]]:
    """The first table of the docs section ``title`` (on whichever page holds it): its header and
    its rows (cells stripped)."""
    lines = section(title).text.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("|"))
    table = list(itertools.takewhile(lambda line: line.startswith("|"), lines[first:]))
    rows = [[cell.strip() for cell in line.strip().strip("|").split("|")] for line in table]
    return rows[0], rows[2:]  # the separator dropped


def test_every_row_of_the_readme_attempts_table_is_a_row_here() -> None:
    _, table = _readme_table("Attempts and fencing")
    documented = {cells[0] for cells in table}
    assert len(table) == 7
    here = {r.readme for r in JOIN_ROWS}
    assert documented == here, (documented - here, here - documented)


def test_every_cell_of_the_readme_lifecycle_table_is_a_row_here() -> None:
    header, table = _readme_table("Run lifecycle")
    documented = {f"{cells[0]}|{header[i]}" for cells in table for i in range(1, len(cells)) if cells[i]}
    covered = {r.readme for r in START_ROWS} | {r.readme for r in FENCE_ROWS}
    assert len(documented) == 13
    assert documented <= covered, documented - covered


def test_the_default_lease_has_one_home() -> None:
    """The lifecycle's default lease, the run logger's and the UI's stale threshold are one value."""
    from airflow_provider_pipeline_registry.registry import run_env, run_logger
    from airflow_provider_pipeline_registry.registry.run_logs import lifecycle

    assert timedelta(seconds=run_env.DEFAULT_LEASE_SECONDS) == lifecycle.DEFAULT_LEASE
    assert run_logger.DEFAULT_LEASE_SECONDS is run_env.DEFAULT_LEASE_SECONDS
    package = Path(run_env.__file__).parents[1]
    homes = [
        (str(path.relative_to(package)), line.strip())
        for path in sorted(package.rglob("*.py"))
        for line in path.read_text().splitlines()
        if re.search(r"lease\w*\s*(:\s*\w+\s*)?=\s*(300(\.0)?\b|timedelta\(minutes=5\))", line, re.I)
    ]
    assert homes == [("registry/run_env.py", "DEFAULT_LEASE_SECONDS = 300.0")], homes

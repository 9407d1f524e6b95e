"""Races on real DynamoDB Local: 50 threads on one run or one config version, heartbeats vs finish."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, TypeVar

import pytest
from reliability_helpers import scan_all

from airflow_provider_pipeline_registry.registry import (
    ConflictError,
    PipelineRunLog,
    Registry,
    RunStatus,
)

pytestmark = pytest.mark.integration

RegistryFactory = Callable[..., Registry]
T = TypeVar("T")
THREADS = 50
T0 = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)


def race(n: int, action: Callable[[int], T]) -> list[T | Exception]:
    """Run ``action(i)`` in ``n`` threads released together; each result or the exception raised."""
    barrier = threading.Barrier(n)

    def one(i: int) -> T | Exception:
        barrier.wait()
        try:
            return action(i)
        except Exception as exc:
            return exc

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(one, range(n)))


def test_50_threads_starting_the_same_run_leave_one_running_entry(make_registry: RegistryFactory) -> None:
    registry = make_registry()
    start = {"run_id": "dag/2026-11-01", "pipeline_id": "sales", "try_number": 3, "dag_id": "dag"}

    results = race(THREADS, lambda i: registry.runs_write.start({**start, "start_time": T0}))

    # same-try duplicates are no-ops: every caller gets the one stored run, nobody an error
    errors = [r for r in results if isinstance(r, Exception)]
    assert errors == []
    runs = [r for r in results if isinstance(r, PipelineRunLog)]
    assert {(r.status, r.try_number, r.start_time, r.is_running) for r in runs} == {(RunStatus.RUNNING, 3, T0, True)}
    items = scan_all(registry, "pipeline_run_logs")
    assert len(items) == 1
    stored = PipelineRunLog.from_dynamodb_item(items[0])
    assert (stored.run_id, stored.status, stored.try_number) == ("dag/2026-11-01", RunStatus.RUNNING, 3)
    assert [run.run_id for run in registry.runs.iter_running()] == ["dag/2026-11-01"]


def test_50_threads_starting_different_tries_one_try_wins_older_ones_are_refused(
    make_registry: RegistryFactory,
) -> None:
    registry = make_registry()

    def start(i: int) -> PipelineRunLog:
        # tries 1..5, ten threads each
        return registry.runs_write.start({"run_id": "r", "pipeline_id": "p", "try_number": 1 + i % 5})

    results = race(THREADS, start)

    stored = registry.runs.find_entity("r", "p", consistent=True)
    assert stored is not None
    assert stored.status is RunStatus.RUNNING
    for i, result in enumerate(results):
        if isinstance(result, Exception):
            # only a start for an older try than the one already running is refused
            assert isinstance(result, ConflictError), repr(result)
            assert (result.current or {}).get("try_number", 0) > 1 + i % 5
        else:
            assert result.try_number == 1 + i % 5
    # a later try always wins over an earlier one: the highest try asked for is the one running
    assert stored.try_number == 5
    assert len(scan_all(registry, "pipeline_run_logs")) == 1


def test_50_threads_updating_the_same_config_version_exactly_one_wins(make_registry: RegistryFactory) -> None:
    registry = make_registry()
    registry.pipelines_write.create({"pipeline_id": "sales", "name": "Sales"})

    results = race(
        THREADS,
        lambda i: registry.pipelines_write.update("sales", {"owner": f"owner-{i}"}, expected_version=1),
    )

    winners = [(i, r) for i, r in enumerate(results) if not isinstance(r, Exception)]
    losers = [r for r in results if isinstance(r, Exception)]
    assert len(winners) == 1
    assert len(losers) == THREADS - 1
    assert all(isinstance(r, ConflictError) for r in losers), {type(r).__name__ for r in losers}
    assert all("not the expected version 1" in r.message for r in losers if isinstance(r, ConflictError))
    index, winner = winners[0]
    stored = registry.pipelines.get_by_id("sales", consistent=True)
    assert (stored.version, stored.owner) == (2, f"owner-{index}")
    assert getattr(winner, "owner", None) == f"owner-{index}"


def test_heartbeats_racing_a_finish_never_overwrite_it(make_registry: RegistryFactory) -> None:
    registry = make_registry()
    api = registry.runs_write
    api.start({"run_id": "r", "pipeline_id": "p", "start_time": T0})
    beats_before_finish = threading.Semaphore(0)
    outcome: dict[int, dict[str, Any]] = {}

    def heartbeat(i: int) -> None:
        ok = refused_after_finish = 0
        n = 0
        while True:
            n += 1
            try:
                api.heartbeat("r", "p", metrics={f"beat_{i}": n, "shared": n})
            except ConflictError as exc:
                stored_status = (exc.current or {}).get("status")
                refused_after_finish += 1
                assert stored_status == "SUCCESS"
                break  # every thread keeps beating until it has seen the finish refuse it
            ok += 1
            beats_before_finish.release()
        outcome[i] = {"ok": ok, "refused": refused_after_finish}

    workers = [threading.Thread(target=heartbeat, args=(i,)) for i in range(10)]
    for worker in workers:
        worker.start()
    for _ in range(30):  # some heartbeats have landed before the finish
        beats_before_finish.acquire()
    end = api.finish(
        {"run_id": "r", "pipeline_id": "p", "status": "SUCCESS", "metrics": {"rows": 42}, "end_time": datetime.now(UTC)}
    )
    for worker in workers:
        worker.join()

    assert sum(o["ok"] for o in outcome.values()) >= 30
    assert all(o["refused"] == 1 for o in outcome.values())
    stored_items = scan_all(registry, "pipeline_run_logs")
    assert len(stored_items) == 1
    stored = PipelineRunLog.from_dynamodb_item(stored_items[0])
    # the stored run is exactly what finish wrote: status, end, heartbeat, metrics, running flag
    assert stored == end
    assert (stored.status, stored.is_running, stored.metrics["rows"]) == (RunStatus.SUCCESS, None, 42)
    assert registry.runs.find_by_id("r", "p", consistent=True) is not None
    assert list(registry.runs.iter_running()) == []

"""History does not slow reads: the latest run, a page of runs and the tables of a pipeline each
cost one Query on the pipeline's index that reads only the items it returns (counted, not timed);
a run page then reads exactly its own runs from the table (one BatchGetItem: the runs index holds
only what a start or an end writes, see docs/cost.md)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from airflow_provider_pipeline_registry.registry import Registry

pytestmark = pytest.mark.integration

T0 = datetime(2026, 1, 1, tzinfo=UTC)
HISTORY = 300


@dataclass
class Calls:
    """Every DynamoDB request (operation, parameters) and the ScannedCount of every answer."""

    requests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    scanned: list[int] = field(default_factory=list)

    def reset(self) -> None:
        self.requests.clear()
        self.scanned.clear()


@pytest.fixture
def calls(registry: Registry) -> Iterator[Calls]:
    recorded = Calls()

    def before(model: Any, params: dict[str, Any], **_: Any) -> None:
        recorded.requests.append((model.name, dict(params)))

    def after(parsed: dict[str, Any], **_: Any) -> None:
        if "ScannedCount" in parsed:
            recorded.scanned.append(parsed["ScannedCount"])

    events = registry.client.meta.events
    events.register("before-parameter-build.dynamodb.*", before)
    events.register("after-call.dynamodb.*", after)
    yield recorded
    events.unregister("before-parameter-build.dynamodb.*", before)
    events.unregister("after-call.dynamodb.*", after)


def _store_history(registry: Registry) -> None:
    runs = [
        {
            "run_id": f"run-{i:04d}",
            "pipeline_id": pid,
            "status": "SUCCESS",
            "start_time": T0 + timedelta(minutes=i),
            "end_time": T0 + timedelta(minutes=i, seconds=1),
        }
        for pid, count in (("long_history", HISTORY), ("other", 30))
        for i in range(count)
    ]
    assert registry.runs_write.batch_upsert(runs).ok


def _only_index_queries(calls: Calls, index: str, *, completed: int = 0) -> list[dict[str, Any]]:
    """The index Queries of ``calls``; with ``completed``: each followed by one BatchGetItem of
    exactly the ``completed`` runs it returned (never a Scan, never a read per item)."""
    operations = [op for op, _ in calls.requests]
    expected = ["Query", "BatchGetItem"] if completed else ["Query"]
    assert operations == expected * (len(operations) // len(expected)), operations
    queries = [params for op, params in calls.requests if op == "Query"]
    assert all(q["IndexName"].endswith(index) for q in queries)
    for op, params in calls.requests:
        if op == "BatchGetItem":
            (request,) = params["RequestItems"].values()
            assert len(request["Keys"]) == completed
    return queries


def test_latest_run_reads_one_item_of_a_long_history(registry: Registry, calls: Calls) -> None:
    _store_history(registry)
    calls.reset()
    latest = registry.runs.latest("long_history")
    assert latest is not None
    assert latest.run_id == f"run-{HISTORY - 1:04d}"
    (query,) = _only_index_queries(calls, "pipeline_runs_index", completed=1)
    assert query["ScanIndexForward"] is False
    assert query["Limit"] == 1
    assert calls.scanned == [1]


def test_a_page_of_runs_reads_only_that_page(registry: Registry, calls: Calls) -> None:
    _store_history(registry)
    calls.reset()
    page = registry.runs.list_by_pipeline("long_history", limit=20)
    assert [r.run_id for r in page] == [f"run-{i:04d}" for i in range(HISTORY - 1, HISTORY - 21, -1)]
    (query,) = _only_index_queries(calls, "pipeline_runs_index", completed=20)
    assert (query["ScanIndexForward"], query["Limit"]) == (False, 20)
    assert calls.scanned == [20]

    calls.reset()  # the next page starts where the last one stopped, it does not re-read it
    second = registry.runs.list_by_pipeline("long_history", limit=20, page_token=page.next_page_token)
    assert second.items[0].run_id == f"run-{HISTORY - 21:04d}"
    assert calls.scanned == [20]


def test_the_latest_summary_is_the_index_entry_alone(registry: Registry, calls: Calls) -> None:
    _store_history(registry)
    calls.reset()
    latest = registry.runs.latest_summary("long_history")
    assert latest is not None
    assert (latest.run_id, latest.status.value, latest.duration_seconds) == (f"run-{HISTORY - 1:04d}", "SUCCESS", 1.0)
    (query,) = _only_index_queries(calls, "pipeline_runs_index")
    assert query["Limit"] == 1


def test_tables_of_a_pipeline_read_only_its_own_items(registry: Registry, calls: Calls) -> None:
    rows = [
        {"table_id": f"db.p{p:03d}_t{t}", "pipeline_id": f"p{p:03d}", "table_name": f"t{t}"}
        for p in range(60)
        for t in range(3)
    ]
    assert registry.tables_write.batch_upsert(rows).ok
    calls.reset()
    tables = list(registry.tables.iter_by_pipeline("p042"))
    assert [t.table_id for t in tables] == [f"db.p042_t{t}" for t in range(3)]
    _only_index_queries(calls, "pipeline_tables_index")
    assert calls.scanned == [3]

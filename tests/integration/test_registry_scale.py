"""Volume on DynamoDB Local: lists spanning several 1 MB pages, and batches of 1,000 items."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from airflow_provider_pipeline_registry.registry import Registry

pytestmark = pytest.mark.integration

ITEM_PADDING = "x" * 8_000  # ~8 KB per item: 300 items are ~2.4 MB, three DynamoDB pages


def test_lists_span_more_than_one_1mb_page(registry: Registry) -> None:
    rows = [
        {
            "table_id": f"t{i:04d}",
            "pipeline_id": "big",
            "table_name": f"db.t{i:04d}",
            "description": ITEM_PADDING,
        }
        for i in range(300)
    ]
    assert registry.tables_write.batch_upsert(rows).ok
    expected = [f"t{i:04d}" for i in range(300)]

    calls: list[str] = []
    registry.client.meta.events.register(
        "before-call.dynamodb.Query", lambda **kwargs: calls.append(kwargs["model"].name)
    )
    whole = registry.tables.list_by_pipeline("big", limit=1000)
    assert [v.table_id for v in whole] == expected
    assert whole.next_page_token is None
    assert len(calls) >= 3  # DynamoDB cut the result at 1 MB; the gateway followed LastEvaluatedKey

    assert [v.table_id for v in registry.tables.iter_by_pipeline("big")] == expected

    paged: list[str] = []
    token: str | None = None
    while True:
        page = registry.tables.list_by_pipeline("big", limit=70, page_token=token)
        assert len(page) <= 70
        paged.extend(v.table_id for v in page)
        token = page.next_page_token
        if token is None:
            break
    assert paged == expected
    assert len(list(registry.tables.iter_all(page_size=250))) == 300


def test_run_history_spanning_pages(registry: Registry) -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    runs = [
        {
            "run_id": f"run-{i:04d}",
            "pipeline_id": "big",
            "status": "FAILED",
            "start_time": t0 + timedelta(minutes=i),
            "end_time": t0 + timedelta(minutes=i, seconds=1),
            "error_type": "RuntimeError",
            "error_message": ITEM_PADDING,
        }
        for i in range(260)
    ]
    assert registry.runs_write.batch_upsert(runs).ok
    listed = registry.runs.list_by_pipeline("big", limit=500, statuses=["FAILED"])
    assert [r.run_id for r in listed] == [f"run-{i:04d}" for i in reversed(range(260))]
    assert listed.next_page_token is None


def test_batch_upsert_of_1000_items(registry: Registry) -> None:
    rows = [{"pipeline_id": f"p{i:04d}", "name": f"Pipeline {i}", "parameters": {"i": i}} for i in range(1000)]
    report = registry.pipelines_write.batch_upsert(rows)
    assert report.ok
    assert len(report.written) == 1000
    assert report.unchanged == []
    stored = {v.pipeline_id: v for v in registry.pipelines.iter_all(page_size=500)}
    assert len(stored) == 1000
    assert all(stored[f"p{i:04d}"].parameters == {"i": i} for i in range(1000))
    assert sum(1 for _ in registry.pipelines.iter_active(page_size=400)) == 1000

    changed = [dict(row, owner="new") if i % 10 == 0 else row for i, row in enumerate(rows)]
    second = registry.pipelines_write.batch_upsert(changed)
    assert len(second.written) == 100
    assert len(second.unchanged) == 900
    assert registry.pipelines.get_by_id("p0010", consistent=True).version == 2
    assert registry.pipelines.get_by_id("p0011", consistent=True).version == 1

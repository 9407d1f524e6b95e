"""500 ``PipelineRunStateTrigger``s in one event loop, as one triggerer runs them: each fires once
with its own run's event, and they share one hook (one client) instead of building 500."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from airflow_provider_pipeline_registry.registry.run_logs import PipelineRunLogsReadApi
from airflow_provider_pipeline_registry.registry.timezones import utc_now
from airflow_provider_pipeline_registry.triggers.pipeline_registry import PipelineRunStateTrigger, SharedHooks

pytestmark = [pytest.mark.airflow, pytest.mark.integration]

PIPELINE = "many_sensors"
N = 500


def test_500_triggers_in_one_loop_fire_with_their_own_events(
    registry_hook: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    t0 = utc_now() - timedelta(hours=1)
    runs = [
        {
            "run_id": f"run-{i:03d}",
            "pipeline_id": PIPELINE,
            "status": "SUCCESS" if i % 2 == 0 else "FAILED",
            "start_time": t0,
            "end_time": t0 + timedelta(minutes=1),
            **({} if i % 2 == 0 else {"error_type": "RuntimeError", "error_message": f"boom {i}"}),
        }
        for i in range(N)
    ]
    assert registry_hook.registry.runs_write.batch_upsert(runs).ok
    batches: list[int] = []
    original = PipelineRunLogsReadApi.get_many_attributes

    def counted(self: PipelineRunLogsReadApi, keys: Any, *args: Any, **options: Any) -> Any:
        batches.append(len(keys))
        return original(self, keys, *args, **options)

    monkeypatch.setattr(PipelineRunLogsReadApi, "get_many_attributes", counted)
    kwargs = registry_hook.trigger_kwargs()
    triggers = [
        PipelineRunStateTrigger(
            pipeline_id=PIPELINE,
            run_id=f"run-{i:03d}",
            end_at=utc_now() + timedelta(minutes=2),
            poke_interval=0.05,
            hook_kwargs=kwargs,
        )
        for i in range(N)
    ]

    async def first(trigger: PipelineRunStateTrigger) -> dict[str, Any]:
        async for event in trigger.run():
            return dict(event.payload)
        raise AssertionError("no event")

    async def all_events() -> list[dict[str, Any]]:
        return await asyncio.wait_for(asyncio.gather(*(first(t) for t in triggers)), timeout=120)

    events = asyncio.run(all_events())
    for i, event in enumerate(events):
        assert event["run_id"] == f"run-{i:03d}"
        assert event["status"] == ("success" if i % 2 == 0 else "failed")
        assert event["run"]["status"] == runs[i]["status"]
        if i % 2:
            assert event["run"]["error_message"] == f"boom {i}"
    assert len({id(t._hook) for t in triggers}) == 1  # one hook, one client for the whole loop
    # the polls were read together: BatchGetItems of at most 100 keys, far fewer requests than polls
    assert batches
    assert max(batches) <= 100
    assert len(batches) < N / 4


def test_shared_hooks_rebuild_an_old_hook_and_keep_kwargs_apart(registry_hook: Any) -> None:
    kwargs = registry_hook.trigger_kwargs()
    hooks = SharedHooks(max_age=3600)
    first = hooks.get(kwargs)
    assert hooks.get(dict(kwargs)) is first
    other = hooks.get({**kwargs, "user_timezone": "Asia/Tokyo"})
    assert other is not first
    assert str(other.user_timezone) == "Asia/Tokyo"
    hooks.max_age = 0  # older than the maximum age: the connection is read again
    assert hooks.get(kwargs) is not first

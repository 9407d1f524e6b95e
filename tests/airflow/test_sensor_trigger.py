"""``PipelineRunStateTrigger`` driven directly with asyncio against DynamoDB Local, and its serialization."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from airflow_provider_pipeline_registry.registry.run_logs import PipelineRunLogsReadApi
from airflow_provider_pipeline_registry.registry.time_inputs import TimeInputError
from airflow_provider_pipeline_registry.registry.timezones import utc_now
from airflow_provider_pipeline_registry.triggers.pipeline_registry import CLASSPATH, PipelineRunStateTrigger

pytestmark = [pytest.mark.airflow, pytest.mark.integration]

PIPELINE = "orders_daily"


async def _first_event(trigger: PipelineRunStateTrigger) -> dict[str, Any]:
    async for event in trigger.run():
        return dict(event.payload)
    raise AssertionError("the trigger ended without an event")


def first_event(trigger: PipelineRunStateTrigger) -> dict[str, Any]:
    return asyncio.run(asyncio.wait_for(_first_event(trigger), timeout=60))


@pytest.fixture
def make_trigger(registry_hook: Any) -> Callable[..., PipelineRunStateTrigger]:
    def make(**overrides: Any) -> PipelineRunStateTrigger:
        options: dict[str, Any] = {
            "pipeline_id": PIPELINE,
            "run_id": "run-1",
            "end_at": utc_now() + timedelta(seconds=30),
            "poke_interval": 0.1,
            "hook_kwargs": registry_hook.trigger_kwargs(),
        }
        options.update(overrides)
        return PipelineRunStateTrigger(**options)

    return make


def start(hook: Any, run_id: str = "run-1", **fields: Any) -> None:
    hook.registry.runs_write.start({"run_id": run_id, "pipeline_id": PIPELINE, **fields})


def test_success_event(registry_hook: Any, make_trigger: Callable[..., PipelineRunStateTrigger]) -> None:
    start(registry_hook)
    registry_hook.registry.runs_write.finish({"run_id": "run-1", "pipeline_id": PIPELINE, "status": "SUCCESS"})
    event = first_event(make_trigger())
    assert event["status"] == "success"
    assert event["run"]["status"] == "SUCCESS"
    assert event["run"]["end_time"] is not None


def test_failed_event_carries_the_recorded_error(
    registry_hook: Any, make_trigger: Callable[..., PipelineRunStateTrigger]
) -> None:
    start(registry_hook)
    registry_hook.registry.runs_write.finish(
        {
            "run_id": "run-1",
            "pipeline_id": PIPELINE,
            "status": "FAILED",
            "error_type": "AnalysisException",
            "error_message": "Table not found: orders_raw",
        }
    )
    event = first_event(make_trigger())
    assert event["status"] == "failed"
    assert "AnalysisException: Table not found: orders_raw" in event["message"]
    assert event["run"]["error_message"] == "Table not found: orders_raw"


def test_stale_event(registry_hook: Any, make_trigger: Callable[..., PipelineRunStateTrigger]) -> None:
    start(registry_hook, start_time=utc_now() - timedelta(hours=1))
    event = first_event(make_trigger(stale_after_seconds=60))
    assert event["status"] == "stale"
    assert "last heartbeat" in event["message"]


def test_missing_run_waits_then_times_out(
    registry_hook: Any, make_trigger: Callable[..., PipelineRunStateTrigger], monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[int] = []
    original = PipelineRunLogsReadApi.get_attributes

    def counting(self: PipelineRunLogsReadApi, *args: Any, **kwargs: Any) -> Any:
        reads.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(PipelineRunLogsReadApi, "get_attributes", counting)
    event = first_event(make_trigger(run_id="never-started", end_at=utc_now() + timedelta(seconds=0.5)))
    assert event["status"] == "timeout"
    assert "does not exist yet" in event["message"]
    assert reads  # it looked (that a missing run keeps it polling: test_running_run_finishing_later...)


def test_running_run_finishing_later_is_success(
    registry_hook: Any, make_trigger: Callable[..., PipelineRunStateTrigger], monkeypatch: pytest.MonkeyPatch
) -> None:
    start(registry_hook)
    seen = threading.Event()
    original = PipelineRunLogsReadApi.get_attributes

    def observed(self: PipelineRunLogsReadApi, *args: Any, **kwargs: Any) -> Any:
        result = original(self, *args, **kwargs)
        if result and result.get("status") == "RUNNING":
            seen.set()
        return result

    monkeypatch.setattr(PipelineRunLogsReadApi, "get_attributes", observed)

    def finish_when_seen() -> None:
        assert seen.wait(30)
        registry_hook.registry.runs_write.finish({"run_id": "run-1", "pipeline_id": PIPELINE, "status": "SUCCESS"})

    finisher = threading.Thread(target=finish_when_seen)
    finisher.start()
    event = first_event(make_trigger())
    finisher.join()
    assert seen.is_set()
    assert event["status"] == "success"


def test_latest_run_mode_resolves_through_the_index(
    registry_hook: Any, make_trigger: Callable[..., PipelineRunStateTrigger]
) -> None:
    began = utc_now()
    start(registry_hook, run_id="old", start_time=began - timedelta(days=2))
    registry_hook.registry.runs_write.finish({"run_id": "old", "pipeline_id": PIPELINE, "status": "FAILED"})
    start(registry_hook, run_id="new", start_time=began)
    registry_hook.registry.runs_write.finish({"run_id": "new", "pipeline_id": PIPELINE, "status": "SUCCESS"})
    event = first_event(make_trigger(run_id=None, since=began - timedelta(hours=1)))
    assert event["status"] == "success"
    assert event["run"]["run_id"] == "new"
    # without the window the newest run is still "new"; a window around the old run only sees it
    event = first_event(make_trigger(run_id=None, until=began - timedelta(days=1)))
    assert event["status"] == "failed"
    assert event["run"]["run_id"] == "old"


def test_relative_window_stays_relative_through_serialization_and_is_resolved_at_each_poll(
    registry_hook: Any, make_trigger: Callable[..., PipelineRunStateTrigger]
) -> None:
    """The trigger reads the one time grammar (registry/time_inputs.py): ``since="2h"`` is kept as
    text in its kwargs and counted back from each poll; a naive time is refused (no zone known)."""
    began = utc_now()
    start(registry_hook, run_id="old", start_time=began - timedelta(days=2))
    registry_hook.registry.runs_write.finish({"run_id": "old", "pipeline_id": PIPELINE, "status": "FAILED"})
    start(registry_hook, run_id="recent", start_time=began - timedelta(hours=1))
    registry_hook.registry.runs_write.finish({"run_id": "recent", "pipeline_id": PIPELINE, "status": "SUCCESS"})
    trigger = make_trigger(run_id=None, since=" 2H ", until="now")
    assert (trigger.serialize()[1]["since"], trigger.serialize()[1]["until"]) == ("2h", "now")
    event = first_event(trigger)
    assert (event["status"], event["run"]["run_id"]) == ("success", "recent")
    event = first_event(make_trigger(run_id=None, until="1d"))  # started at least a day ago
    assert (event["status"], event["run"]["run_id"]) == ("failed", "old")
    with pytest.raises(TimeInputError, match="since: '2026-03-08T01:00' has no timezone here"):
        make_trigger(run_id=None, since="2026-03-08T01:00")
    with pytest.raises(TimeInputError, match="end_at: '1h' must be an absolute time"):
        make_trigger(end_at="1h")


def test_missing_table_is_a_fatal_error_at_once(
    registry_hook: Any, make_trigger: Callable[..., PipelineRunStateTrigger]
) -> None:
    kwargs = {**registry_hook.trigger_kwargs(), "table_prefix": "nowhere_"}
    event = first_event(make_trigger(hook_kwargs=kwargs, end_at=utc_now() + timedelta(hours=1)))
    assert event["status"] == "error"
    assert event["fatal"] is True
    assert event["error_class"] == "TableNotFoundError"


def test_reads_run_off_the_event_loop_thread(
    registry_hook: Any, make_trigger: Callable[..., PipelineRunStateTrigger], monkeypatch: pytest.MonkeyPatch
) -> None:
    start(registry_hook)
    registry_hook.registry.runs_write.finish({"run_id": "run-1", "pipeline_id": PIPELINE, "status": "SUCCESS"})
    read_threads: list[int] = []
    original = PipelineRunLogsReadApi.get_attributes

    def recording(self: PipelineRunLogsReadApi, *args: Any, **kwargs: Any) -> Any:
        read_threads.append(threading.get_ident())
        return original(self, *args, **kwargs)

    monkeypatch.setattr(PipelineRunLogsReadApi, "get_attributes", recording)

    async def main() -> tuple[int, dict[str, Any]]:
        return threading.get_ident(), await _first_event(make_trigger())

    loop_thread, event = asyncio.run(main())
    assert event["status"] == "success"
    assert read_threads
    assert loop_thread not in read_threads


def test_serialize_round_trips_every_setting(registry_conn_id: str) -> None:
    from airflow_versions import serde

    from airflow_provider_pipeline_registry.hooks.pipeline_registry import PipelineRegistryHook

    serialize, deserialize = serde()
    hook = PipelineRegistryHook(
        aws_conn_id=registry_conn_id,
        user_timezone="Europe/Paris",
        verify="/etc/ssl/certs/registry-ca.pem",
        config={"connect_timeout": 3, "retries": {"max_attempts": 2}, "proxies": {"https": "http://proxy:3128"}},
    )
    trigger = PipelineRunStateTrigger(
        pipeline_id=PIPELINE,
        run_id=None,
        since="2026-03-08T01:00:00-05:00",
        until=utc_now(),
        target_states=["SUCCESS", "RUNNING"],
        failed_states=["FAILED"],
        stale_after_seconds=300,
        end_at=utc_now() + timedelta(minutes=5),
        poke_interval=7.5,
        exponential_backoff=True,
        max_wait_seconds=120,
        continue_on_error=True,
        hook_kwargs=hook.trigger_kwargs(),
    )
    classpath, kwargs = trigger.serialize()
    assert classpath == CLASSPATH
    assert kwargs["since"] == "2026-03-08T06:00:00.000000Z"
    # what the task SDK hands the triggerer: serde-encoded kwargs
    restored = PipelineRunStateTrigger(**deserialize(serialize(kwargs)))  # type: ignore[arg-type]
    assert restored.serialize() == (classpath, kwargs)
    rebuilt = PipelineRegistryHook(**restored.hook_kwargs)
    assert rebuilt.verify == "/etc/ssl/certs/registry-ca.pem"
    config = rebuilt.conn_config.botocore_config
    assert config.connect_timeout == 3
    assert config.retries == {"max_attempts": 2}
    assert config.proxies == {"https": "http://proxy:3128"}
    assert rebuilt.registry_config == hook.registry_config
    assert rebuilt.user_timezone == hook.user_timezone


def test_trigger_refuses_overlapping_states() -> None:
    from airflow_provider_pipeline_registry.registry.errors import ValidationError

    with pytest.raises(ValidationError, match="disjoint"):
        PipelineRunStateTrigger(
            pipeline_id=PIPELINE,
            end_at=utc_now(),
            hook_kwargs={},
            target_states=["SUCCESS"],
            failed_states=["SUCCESS"],
        )


def test_unreachable_endpoint_is_a_non_fatal_error_event(
    registry_hook: Any, make_trigger: Callable[..., PipelineRunStateTrigger]
) -> None:
    # a closed local port: connection refused, retried by the gateway, then RegistryConnectionError
    kwargs = {**registry_hook.trigger_kwargs(), "endpoint_url": "http://127.0.0.1:9", "max_attempts": 1}
    event = first_event(make_trigger(hook_kwargs=kwargs, end_at=utc_now() + timedelta(hours=1)))
    assert event["status"] == "error"
    assert event["fatal"] is False
    assert event["error_class"] == "RegistryConnectionError"
    # with continue_on_error (the sensor's silent_fail) it keeps polling until its timeout
    event = first_event(
        make_trigger(hook_kwargs=kwargs, continue_on_error=True, end_at=utc_now() + timedelta(seconds=0.3))
    )
    assert event["status"] == "timeout"

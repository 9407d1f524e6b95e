"""Watermarks under faults: a lost transaction response, and a driver killed after staging.

The lost response is injected at the HTTP layer (``FaultInjector``: DynamoDB Local applies the
transaction, the answer never arrives, botocore re-sends it). The kill is a real SIGKILL of a
driver process that joined the run and staged a watermark.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from typing import Any

import pytest
from reliability_faults import FaultInjector

from airflow_provider_pipeline_registry.registry import Registry, RunStatus
from airflow_provider_pipeline_registry.registry.run_logger import PipelineRunLogger

pytestmark = pytest.mark.integration

RegistryFactory = Callable[..., Registry]


def _incremental(registry: Registry) -> None:
    registry.pipelines_write.create({"pipeline_id": "p", "name": "p"})
    registry.tables_write.create(
        {"table_id": "orders", "pipeline_id": "p", "table_name": "orders", "watermark_type": "integer"}
    )


def test_a_lost_transaction_response_reports_success_once_and_records_one_commit(
    make_registry: RegistryFactory,
) -> None:
    registry = make_registry()
    _incremental(registry)
    started = registry.runs_write.start({"run_id": "r", "pipeline_id": "p"})
    registry.runs_write.stage_watermark("r", "p", "orders", 7, attempt_id=started.attempt_id)
    faults = FaultInjector(
        registry.client, rate=1.0, seed=1, kinds=("lost_response",), operations=["TransactWriteItems"], max_faults=1
    )
    try:
        ended = registry.runs_write.finish(
            {"run_id": "r", "pipeline_id": "p", "status": "SUCCESS", "attempt_id": started.attempt_id}
        )
    finally:
        faults.remove()
    assert faults.faults["lost_response"] == 1
    assert faults.calls["TransactWriteItems"] >= 2  # applied, answer lost, re-sent
    assert ended.status is RunStatus.SUCCESS
    stored = registry.runs_write.current("r", "p")
    assert stored is not None
    assert stored.status is RunStatus.SUCCESS
    assert stored.error_type is None
    history = registry.tables.watermark_history("orders")
    assert [(e.run_id, e.from_value, e.to_value) for e in history] == [("r", None, "7")]
    assert registry.tables.watermark("orders").seq == 1


def test_a_lost_rewind_response_records_one_rewind(make_registry: RegistryFactory) -> None:
    registry = make_registry()
    _incremental(registry)
    with PipelineRunLogger(pipeline_id="p", run_id="r", registry=registry, handle_sigterm=False) as run:
        run.advance_watermark("orders", 7)
    faults = FaultInjector(
        registry.client, rate=1.0, seed=1, kinds=("lost_response",), operations=["TransactWriteItems"], max_faults=1
    )
    try:
        entry = registry.tables_write.rewind_watermark("orders", value=3, reason="reload", actor="ops")
    finally:
        faults.remove()
    assert faults.faults["lost_response"] == 1
    assert (entry.from_value, entry.to_value) == ("7", "3")
    assert [(e.kind.value, e.to_value) for e in registry.tables.watermark_history("orders")] == [
        ("commit", "7"),
        ("rewind", "3"),
    ]


_DRIVER = textwrap.dedent(
    """
    import sys, time
    from airflow_provider_pipeline_registry.registry import DynamoDBConfig, Registry
    from airflow_provider_pipeline_registry.registry.run_logger import PipelineRunLogger

    endpoint, prefix = sys.argv[1], sys.argv[2]
    registry = Registry(DynamoDBConfig(endpoint_url=endpoint, region="us-east-1", table_prefix=prefix))
    run = PipelineRunLogger(
        pipeline_id="p", run_id="r", registry=registry, heartbeat_interval=0.5, lease_seconds=1.5,
        handle_sigterm=False, watch_parent=False,
    )
    run.__enter__()
    print("READ", run.watermark("orders"), flush=True)
    run.advance_watermark("orders", 99)
    print("STAGED", flush=True)
    time.sleep(600)
    """
)


def test_a_driver_killed_after_staging_commits_nothing_and_the_takeover_reads_the_old_value(
    make_registry: RegistryFactory, dynamodb_endpoint: str, unique_prefix: str
) -> None:
    registry = make_registry()
    _incremental(registry)
    with PipelineRunLogger(pipeline_id="p", run_id="r0", registry=registry, handle_sigterm=False) as run:
        run.advance_watermark("orders", 10)
    env: dict[str, Any] = dict(os.environ)  # the suite's credentials: DynamoDB Local keeps tables per key
    driver = subprocess.Popen(
        [sys.executable, "-c", _DRIVER, dynamodb_endpoint, unique_prefix],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert driver.stdout is not None
        assert driver.stdout.readline().split() == ["READ", "10"]
        assert driver.stdout.readline().strip() == "STAGED"
        staged = registry.runs_write.current("r", "p")
        assert staged is not None
        assert staged.watermark_staged == {"orders": "99"}
    finally:
        os.kill(driver.pid, signal.SIGKILL)
        driver.wait(timeout=30)
    assert registry.tables.watermark("orders").value == "10"  # nothing committed by the killed driver
    time.sleep(2.0)  # the killed attempt's lease (1.5 s without a heartbeat) expires
    with PipelineRunLogger(
        pipeline_id="p", run_id="r", registry=registry, heartbeat_interval=0.5, lease_seconds=1.5, handle_sigterm=False
    ) as takeover:
        assert takeover.watermark("orders") == "10"
        taken = registry.runs_write.current("r", "p")
        assert taken is not None
        assert taken.watermark_staged is None
        assert taken.attempts[-1].status == "LEASE_EXPIRED"
        takeover.advance_watermark("orders", 12)
    assert registry.tables.watermark("orders").value == "12"
    assert [(e.run_id, e.from_value, e.to_value) for e in registry.tables.watermark_history("orders")] == [
        ("r0", None, "10"),
        ("r", "10", "12"),
    ]


def test_a_lost_response_to_the_run_loggers_end_commits_once(make_registry: RegistryFactory) -> None:
    """The logger's end is one transaction without a read first (``commit_end``): its lost answer
    still reports SUCCESS once and leaves one history entry."""
    registry = make_registry()
    _incremental(registry)
    faults = FaultInjector(
        registry.client, rate=1.0, seed=1, kinds=("lost_response",), operations=["TransactWriteItems"], max_faults=1
    )
    try:
        with PipelineRunLogger(pipeline_id="p", run_id="r", registry=registry, handle_sigterm=False) as run:
            run.advance_watermark("orders", 5)
    finally:
        faults.remove()
    assert faults.faults["lost_response"] == 1
    assert run.status is RunStatus.SUCCESS
    assert run.watermark_conflict is None
    stored = registry.runs_write.current("r", "p")
    assert stored is not None
    assert (stored.status, stored.error_type) == (RunStatus.SUCCESS, None)
    assert stored.watermark_commits == {"orders": {"from": None, "to": "5", "seq": 1}}
    assert [(e.run_id, e.to_value) for e in registry.tables.watermark_history("orders")] == [("r", "5")]

"""DynamoDB Local stopped and restarted (same port, same data directory) in the middle of a run.

The run logger retries its end write until the endpoint is back; the failure callback, delivered
while the endpoint is down, logs clearly and does not raise, and a re-delivery records the end.
No finished run is lost across the restart.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest
from dynamodb_local import DynamoDBLocal
from reliability_helpers import registry_on

from airflow_provider_pipeline_registry.registry import PipelineRunLogger, RunStatus

pytestmark = pytest.mark.integration

PREFIX = "restart_"
KEY_ID = "AKIARESTARTKEY7EXAMPLE"
SECRET = "restartSecret/DoNotLog+k3y0123456789abcdEF"


class _Records(logging.Handler):
    """Collects the records of one logger (Airflow's logging setup may stop them reaching caplog)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    @property
    def text(self) -> str:
        return "\n".join(r.getMessage() for r in self.records)

    def errors(self) -> list[str]:
        return [r.getMessage() for r in self.records if r.levelno >= logging.ERROR]


class _Seen(logging.Handler):
    """Sets ``event`` when a record containing ``text`` is logged."""

    def __init__(self, text: str) -> None:
        super().__init__(logging.DEBUG)
        self.text = text
        self.event = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if self.text in record.getMessage():
            self.event.set()


def test_run_logger_end_survives_a_restart_and_no_finished_run_is_lost(
    dynamodb_local_factory: Callable[..., DynamoDBLocal], tmp_path: Path
) -> None:
    server = dynamodb_local_factory(db_path=tmp_path / "db")
    registry = registry_on(server.url, PREFIX, connect_timeout=0.5, read_timeout=2, max_attempts=2)
    registry.runs_write.start({"run_id": "finished-before", "pipeline_id": "sales"})
    registry.runs_write.finish({"run_id": "finished-before", "pipeline_id": "sales", "status": "SUCCESS"})

    seen, records = _Seen("recording SUCCESS failed"), _Records()
    run_logger_log = logging.getLogger("airflow_provider_pipeline_registry.registry.run_logger")
    run_logger_log.addHandler(seen)
    run_logger_log.addHandler(records)
    previous_level = run_logger_log.level
    run_logger_log.setLevel(logging.INFO)

    def restart_once_the_end_write_failed() -> None:
        assert seen.event.wait(60)
        server.start()

    restarter = threading.Thread(target=restart_once_the_end_write_failed)
    try:
        with PipelineRunLogger(
            pipeline_id="sales",
            run_id="run-during-outage",
            registry=registry,
            heartbeat_interval=0.1,
            end_retry_seconds=90,
            handle_sigterm=False,
            watch_parent=False,
        ) as run:
            run.records_read(1200)
            assert run.flush() is not None
            server.stop()  # the job's work finishes while DynamoDB is down
            run.records_written(1100)
            restarter.start()
        restarter.join()
    finally:
        run_logger_log.removeHandler(seen)
        run_logger_log.removeHandler(records)
        run_logger_log.setLevel(previous_level)

    assert run.status is RunStatus.SUCCESS
    stored = registry.runs.find_entity("run-during-outage", "sales", consistent=True)
    assert stored is not None
    assert (stored.status, stored.is_running) == (RunStatus.SUCCESS, None)
    assert stored.metrics == {"records_read": 1200, "records_written": 1100}
    assert "recording SUCCESS failed" in records.text  # it did hit the outage, and retried
    assert "run run-during-outage of pipeline sales: SUCCESS at" in records.text
    assert "could NOT record the end" not in records.text
    before = registry.runs.find_entity("finished-before", "sales", consistent=True)
    assert before is not None
    assert before.status is RunStatus.SUCCESS


def test_failure_callback_during_an_outage_logs_without_raising_and_a_redelivery_records_the_end(
    dynamodb_local_factory: Callable[..., DynamoDBLocal],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from airflow_provider_pipeline_registry.callbacks import record_run_failure

    server = dynamodb_local_factory(db_path=tmp_path / "db")
    extras = {"endpoint_url": server.url, "table_prefix": PREFIX, "max_attempts": 2, "connect_timeout": 0.5}
    connection = {"conn_type": "aws", "login": KEY_ID, "password": SECRET, "extra": extras}
    monkeypatch.setenv("AIRFLOW_CONN_PR_RESTART", json.dumps(connection))
    monkeypatch.setenv("DYNAMODB_BASE_BACKOFF_SECONDS", "0.001")
    monkeypatch.setenv("DYNAMODB_MAX_BACKOFF_SECONDS", "0.01")
    registry = registry_on(server.url, PREFIX)
    registry.runs_write.start({"run_id": "run-7", "pipeline_id": "sales", "try_number": 1})
    callback = record_run_failure(pipeline_id="sales", aws_conn_id="pr_restart", run_id="run-7")
    context = {
        "exception": RuntimeError("spark job failed: executor lost"),
        "ti": SimpleNamespace(task_id="spark_job", try_number=1, dag_id="sales_daily"),
    }

    package_logger = logging.getLogger("airflow_provider_pipeline_registry")
    records = _Records()
    package_logger.addHandler(records)
    previous_level = package_logger.level
    package_logger.setLevel(logging.INFO)
    try:
        server.stop()
        assert callback(context) is None  # never raises into Airflow
        errors = records.errors()
        assert len(errors) == 1
        assert "could not record FAILED for run 'run-7' of pipeline 'sales'" in errors[0]
        assert "RegistryConnectionError" in errors[0]
        assert server.url in errors[0]  # says where it could not reach
        assert KEY_ID not in records.text
        assert SECRET not in records.text

        server.start()
        records.records.clear()
        callback(context)  # Airflow re-delivers (or the next callback run does)
        callback(context)  # and a duplicate is a no-op
    finally:
        package_logger.removeHandler(records)
        package_logger.setLevel(previous_level)
    stored = registry.runs.find_entity("run-7", "sales", consistent=True)
    assert stored is not None
    assert stored.status is RunStatus.FAILED
    assert stored.error_type == "RuntimeError"
    assert stored.error_message == "task spark_job (try 1): spark job failed: executor lost"
    assert "ended FAILED" in records.text
    assert "had already ended FAILED" in records.text
    assert records.errors() == []

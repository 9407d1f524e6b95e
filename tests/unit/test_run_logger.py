"""PipelineRunLogger without Spark: fake sessions, injected faults, SIGTERM, against DynamoDB Local."""

from __future__ import annotations

import logging
import os
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from airflow_provider_pipeline_registry.registry import (
    DynamoDBConfig,
    PipelineRunLogger,
    Registry,
    RetryableError,
    RunStart,
    RunStatus,
    ValidationError,
)
from airflow_provider_pipeline_registry.registry.errors import RegistryConnectionError
from airflow_provider_pipeline_registry.registry.run_env import run_logger_env
from airflow_provider_pipeline_registry.registry.run_logger import SIGTERM_EXIT_CODE, spark_identity

pytestmark = pytest.mark.integration
LOGGER_NAME = "airflow_provider_pipeline_registry.registry.run_logger"


@pytest.fixture(scope="module")
def config(dynamodb_endpoint: str) -> DynamoDBConfig:
    cfg = DynamoDBConfig(
        endpoint_url=dynamodb_endpoint,
        table_prefix=f"rl{uuid.uuid4().hex[:8]}_",
        user_timezone="America/New_York",
        base_backoff_seconds=0.01,
        max_backoff_seconds=0.05,
        max_attempts=2,
    )
    Registry(cfg).create_tables()
    return cfg


@pytest.fixture
def registry(config: DynamoDBConfig) -> Registry:
    return Registry(config)


@pytest.fixture
def run_id() -> str:
    return f"dag/run-{uuid.uuid4().hex[:12]}"


def stored(registry: Registry, run_id: str, pipeline_id: str = "p1") -> Any:
    run = registry.runs.find_entity(run_id, pipeline_id, consistent=True)
    assert run is not None
    return run


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


class FakeSparkContext:
    applicationId = "local-1234"
    appName = "fake-job"
    uiWebUrl = "http://driver:4040"


class FakeSession:
    sparkContext = FakeSparkContext()


class FakeConf:
    def __init__(self, values: dict[str, str]) -> None:
        self.values = values

    def get(self, key: str, default: str | None = None) -> str | None:
        if key not in self.values:
            raise RuntimeError(f"[SQL_CONF_NOT_FOUND] {key}")
        return self.values[key]


class FakeConnectSession:
    """Like a Spark Connect session: ``sparkContext`` raises, ``conf`` and ``session_id`` work."""

    session_id = "3f7c0d0e-1111-2222-3333-444455556666"
    conf = FakeConf({"spark.app.name": "connect-job"})

    @property
    def sparkContext(self) -> Any:
        raise NotImplementedError("[JVM_ATTRIBUTE_NOT_SUPPORTED] Attribute `sparkContext` is not supported")


class FlakyRuns:
    """Wraps the real write API; ``fail[name]`` failures are raised before delegating."""

    def __init__(self, real: Any, **fail: int) -> None:
        self.real = real
        self.fail = fail
        self.calls: dict[str, int] = {}

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.real, name)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] = self.calls.get(name, 0) + 1
            if self.fail.get(name, 0) != 0:
                self.fail[name] -= 1
                raise RegistryConnectionError("injected: cannot reach DynamoDB", operation=name)
            return method(*args, **kwargs)

        return wrapper


def flaky(registry: Registry, **fail: int) -> FlakyRuns:
    api = FlakyRuns(registry.runs_write, **fail)
    registry.__dict__["runs_write"] = api  # replaces the cached_property value
    return api


def test_success_records_running_metrics_spark_and_heartbeats(registry: Registry, run_id: str) -> None:
    with PipelineRunLogger(
        pipeline_id="p1", run_id=run_id, registry=registry, heartbeat_interval=0.05, spark=FakeSession()
    ) as run:
        running = stored(registry, run_id)
        assert running.status is RunStatus.RUNNING
        first_beat = running.heartbeat_at
        run.records_read(10)
        run.records_read(5)
        run.records_written(7)
        run.add_metric("ratio", 0.5)
        assert run.increment("files") == 1
        wait_until(lambda: run.heartbeats_sent >= 3)
        assert stored(registry, run_id).heartbeat_at > first_beat
    done = stored(registry, run_id)
    assert done.status is RunStatus.SUCCESS
    assert done.metrics == {"records_read": 15, "records_written": 7, "ratio": 0.5, "files": 1}
    assert (done.spark_application_id, done.spark_application_name, done.spark_ui_url) == (
        "local-1234",
        "fake-job",
        "http://driver:4040",
    )
    assert done.is_running is None
    assert run.status is RunStatus.SUCCESS


def test_flush_writes_metrics_mid_run(registry: Registry, run_id: str) -> None:
    with PipelineRunLogger(pipeline_id="p1", run_id=run_id, registry=registry, heartbeat_interval=3600) as run:
        run.add_metric("rows", 42)
        assert run.flush() is not None
        assert stored(registry, run_id).metrics == {"rows": 42}
        assert stored(registry, run_id).status is RunStatus.RUNNING


def test_failure_records_type_and_bounded_message_and_reraises(registry: Registry, run_id: str) -> None:
    class JobError(Exception):
        pass

    error = JobError("bad row 17 " + "x" * 20_000)
    with (
        pytest.raises(JobError) as raised,
        PipelineRunLogger(pipeline_id="p1", run_id=run_id, registry=registry, heartbeat_interval=3600),
    ):
        raise error
    assert raised.value is error
    done = stored(registry, run_id)
    assert done.status is RunStatus.FAILED
    assert done.error_type.endswith("test_failure_records_type_and_bounded_message_and_reraises.<locals>.JobError")
    assert done.error_message.startswith("bad row 17 xxx")
    assert len(done.error_message) <= 4000


def test_system_exit_zero_is_success_and_nonzero_is_failure(registry: Registry, run_id: str) -> None:
    with pytest.raises(SystemExit), PipelineRunLogger(pipeline_id="p1", run_id=run_id, registry=registry):
        raise SystemExit(0)
    assert stored(registry, run_id).status is RunStatus.SUCCESS
    other = run_id + "-2"
    with pytest.raises(SystemExit), PipelineRunLogger(pipeline_id="p1", run_id=other, registry=registry):
        raise SystemExit(3)
    assert (stored(registry, other).status, stored(registry, other).error_message) == (RunStatus.FAILED, "3")


def test_adopts_running_entry_opened_by_the_operator(registry: Registry, run_id: str) -> None:
    registry.runs_write.start(RunStart(run_id=run_id, pipeline_id="p1", try_number=2, dag_id="dag"))
    with PipelineRunLogger(pipeline_id="p1", run_id=run_id, registry=registry) as run:
        assert run.try_number == 2
    done = stored(registry, run_id)
    assert (done.status, done.try_number, done.dag_id) == (RunStatus.SUCCESS, 2, "dag")


def test_spark_connect_like_session_records_what_it_offers(registry: Registry, run_id: str) -> None:
    assert spark_identity(FakeConnectSession()) == {
        "spark_application_id": "spark-connect-session:3f7c0d0e-1111-2222-3333-444455556666",
        "spark_application_name": "connect-job",
        "spark_ui_url": None,
    }
    with PipelineRunLogger(pipeline_id="p1", run_id=run_id, registry=registry) as run:
        run.attach_spark(FakeConnectSession())
        run.add_metric("rows", 1)
    done = stored(registry, run_id)
    assert done.status is RunStatus.SUCCESS
    assert done.spark_application_name == "connect-job"


def test_metric_validation(registry: Registry, run_id: str) -> None:
    run = PipelineRunLogger(pipeline_id="p1", run_id=run_id, registry=registry)
    for name, value in (("rows", float("nan")), ("rows", True), ("", 1), ("rows", "7")):
        with pytest.raises(ValidationError):
            run.add_metric(name, value)  # type: ignore[arg-type]


def test_end_write_is_retried_through_transient_faults(registry: Registry, run_id: str) -> None:
    api = flaky(registry, finish=2)
    with PipelineRunLogger(pipeline_id="p1", run_id=run_id, registry=registry, end_retry_seconds=30) as run:
        run.add_metric("rows", 3)
    assert api.calls["finish"] == 3
    assert stored(registry, run_id).status is RunStatus.SUCCESS


def test_end_write_failure_keeps_success_and_logs_real_outcome(
    registry: Registry, run_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    flaky(registry, finish=-1)  # always fails
    caplog.set_level(logging.INFO, logger=LOGGER_NAME)
    with PipelineRunLogger(pipeline_id="p1", run_id=run_id, registry=registry, end_retry_seconds=0.6):
        pass  # the job succeeds: leaving the block must not raise
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert run_id in errors[0]
    assert "real outcome is SUCCESS" in errors[0]
    assert "UTC)" in errors[0]  # time shown in America/New_York with UTC beside it
    assert stored(registry, run_id).status is RunStatus.RUNNING


def test_end_write_failure_never_hides_the_jobs_exception(
    registry: Registry, run_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    flaky(registry, finish=-1)
    with (
        pytest.raises(KeyError, match="missing"),
        PipelineRunLogger(pipeline_id="p1", run_id=run_id, registry=registry, end_retry_seconds=0.1),
    ):
        raise KeyError("missing")
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any("real outcome is FAILED (KeyError: 'missing')" in m for m in errors)


def test_heartbeat_survives_transient_failure(registry: Registry, run_id: str) -> None:
    api = flaky(registry, heartbeat=2)
    with PipelineRunLogger(pipeline_id="p1", run_id=run_id, registry=registry, heartbeat_interval=0.02) as run:
        wait_until(lambda: run.heartbeats_sent >= 2)
    assert api.calls["heartbeat"] >= 4
    assert stored(registry, run_id).status is RunStatus.SUCCESS


def test_heartbeat_stops_quietly_when_run_ended_elsewhere(
    registry: Registry, run_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER_NAME)
    with PipelineRunLogger(pipeline_id="p1", run_id=run_id, registry=registry, heartbeat_interval=0.02) as run:
        registry.runs_write.cancel(run_id, "p1", reason="timed out by a sensor")
        assert run._thread is not None
        run._thread.join(timeout=10)
        assert not run._thread.is_alive()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert stored(registry, run_id).status is RunStatus.CANCELLED


def test_sigterm_records_cancelled_chains_and_exits(registry: Registry, run_id: str) -> None:
    calls: list[int] = []
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: calls.append(signum))
    try:
        with (
            pytest.raises(SystemExit) as exited,
            PipelineRunLogger(pipeline_id="p1", run_id=run_id, registry=registry, heartbeat_interval=3600),
        ):
            _job_killed_by_sigterm()
        assert exited.value.code == SIGTERM_EXIT_CODE
        assert calls == [signal.SIGTERM]  # the previous handler was chained
        assert signal.getsignal(signal.SIGTERM) is not None
        assert signal.getsignal(signal.SIGTERM).__name__ == "<lambda>"  # type: ignore[union-attr]
    finally:
        signal.signal(signal.SIGTERM, previous)
    done = stored(registry, run_id)
    assert (done.status, done.error_message) == (RunStatus.CANCELLED, "SIGTERM received")


def _job_killed_by_sigterm() -> None:
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(5)  # interrupted by the handler
    pytest.fail("SIGTERM did not stop the job")


def test_from_env_round_trips_run_logger_env(config: DynamoDBConfig, registry: Registry, run_id: str) -> None:
    env = run_logger_env(config, pipeline_id="p1", run_id=run_id, try_number=3, heartbeat_seconds=0.5)
    env["AIRFLOW_CTX_DAG_ID"] = "my_dag"
    run = PipelineRunLogger.from_env(env, end_retry_seconds=1)
    assert (run.pipeline_id, run.run_id, run.try_number, run.heartbeat_interval) == ("p1", run_id, 3, 0.5)
    assert run.config == config
    assert run.end_retry_seconds == 1
    with run:
        pass
    done = stored(registry, run_id)
    assert (done.status, done.try_number, done.dag_id) == (RunStatus.SUCCESS, 3, "my_dag")


def test_from_env_names_the_missing_variable() -> None:
    with pytest.raises(ValidationError, match="PIPELINE_REGISTRY_RUN_ID"):
        PipelineRunLogger.from_env({"PIPELINE_REGISTRY_PIPELINE_ID": "p1"})


def test_start_failure_raises_before_the_job_runs(registry: Registry, run_id: str) -> None:
    flaky(registry, join=1)  # the logger joins the run (PipelineRunLogsWriteApi.join)
    with (
        pytest.raises(RetryableError),
        PipelineRunLogger(pipeline_id="p1", run_id=run_id, registry=registry),
    ):
        pytest.fail("the job must not run when its start cannot be recorded")


@pytest.fixture(autouse=True)
def _no_leftover_threads() -> Iterator[None]:
    yield
    import threading

    assert not [t for t in threading.enumerate() if t.name == "pipeline-registry-heartbeat" and t.is_alive()]

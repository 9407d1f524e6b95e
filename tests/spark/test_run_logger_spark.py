"""PipelineRunLogger inside real ``spark-submit --master local[2]`` jobs, against DynamoDB Local."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyspark
import pytest

from airflow_provider_pipeline_registry.registry import DynamoDBConfig, Registry, RunStatus
from airflow_provider_pipeline_registry.registry.run_env import run_logger_env

pytestmark = pytest.mark.spark

JOB = Path(__file__).parent / "jobs" / "logged_job.py"
SPARK_SUBMIT = Path(sys.executable).parent / "spark-submit"
#: hang detector, not a speed target: a JVM start on a loaded 2-core CI machine has taken > 120 s
SPARK_BOUND = 400.0


@dataclass
class Job:
    process: subprocess.Popen[str]
    run_id: str
    pid_file: Path
    go_file: Path
    log_file: Path

    def driver_log(self) -> str:
        """The driver's own log (its stdout/stderr are lost once spark-submit's JVM is gone)."""
        return self.log_file.read_text() if self.log_file.exists() else "(no driver log)"

    def wait(self, timeout: float = SPARK_BOUND) -> tuple[int, str, str]:
        out, err = self.process.communicate(timeout=timeout)
        return self.process.returncode, out, err


def registry_for(endpoint: str) -> Registry:
    config = DynamoDBConfig(
        endpoint_url=endpoint,
        table_prefix=f"sp{uuid.uuid4().hex[:8]}_",
        user_timezone="Europe/Paris",
        max_attempts=2,
        connect_timeout=1,
        read_timeout=5,
    )
    registry = Registry(config)
    registry.create_tables()
    return registry


@pytest.fixture
def submit(tmp_path: Path) -> Iterator[Callable[..., Job]]:
    """``submit(registry, mode, ui=False)`` starts the test job under spark-submit."""
    jobs: list[Job] = []

    def start(registry: Registry, mode: str, *, ui: bool = False, **extra_env: str) -> Job:
        run_id = f"spark_dag/{mode}-{uuid.uuid4().hex[:8]}"
        env = {
            **os.environ,
            "SPARK_HOME": str(Path(pyspark.__file__).parent),
            "PYSPARK_PYTHON": sys.executable,
            "PYSPARK_DRIVER_PYTHON": sys.executable,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "JOB_PID_FILE": str(tmp_path / f"{mode}.pid"),
            "JOB_LOG_FILE": str(tmp_path / f"{mode}.log"),
            "PIPELINE_REGISTRY_END_RETRY_SECONDS": "2",
            **run_logger_env(registry.config, pipeline_id="spark_pipe", run_id=run_id, heartbeat_seconds=0.5),
            **extra_env,
        }
        cmd = [
            str(SPARK_SUBMIT),
            "--master",
            "local[2]",
            "--conf",
            f"spark.ui.enabled={'true' if ui else 'false'}",
            "--conf",
            "spark.sql.shuffle.partitions=2",
            "--conf",
            "spark.ui.showConsoleProgress=false",
            str(JOB),
            mode,
            str(tmp_path / f"{mode}.go"),
        ]
        process = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        job = Job(process, run_id, tmp_path / f"{mode}.pid", tmp_path / f"{mode}.go", tmp_path / f"{mode}.log")
        jobs.append(job)
        return job

    yield start
    for job in jobs:
        if job.process.poll() is None:
            job.process.kill()
            job.process.communicate()
        if job.pid_file.exists():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(job.pid_file.read_text()), signal.SIGKILL)


def wait_for_line(job: Job, text: str, timeout: float = SPARK_BOUND) -> None:
    """Read the job's stdout until ``text`` appears (stdout is small; stderr is read at the end)."""
    assert job.process.stdout is not None
    deadline = time.monotonic() + timeout
    for line in job.process.stdout:
        if text in line:
            return
        assert time.monotonic() < deadline, f"{text!r} not printed in time"
    raise AssertionError(f"job ended without printing {text!r}: {job.wait()}")


def stored_run(registry: Registry, job: Job) -> Any:
    return registry.runs.find_entity(job.run_id, "spark_pipe", consistent=True)


def test_successful_job_records_metrics_application_and_heartbeats(
    dynamodb_endpoint: str, submit: Callable[..., Job]
) -> None:
    registry = registry_for(dynamodb_endpoint)
    job = submit(registry, "ok", ui=True)
    code, out, err = job.wait()
    assert code == 0, err[-4000:]
    assert "JOB DONE" in out
    run = stored_run(registry, job)
    assert run.status is RunStatus.SUCCESS
    assert run.metrics == {"records_read": 1000, "records_written": 500}
    assert run.spark_application_id.startswith("local-")
    assert run.spark_application_name == "logged-job-ok"
    assert run.spark_ui_url.startswith("http://")
    assert run.heartbeat_at > run.start_time
    assert run.end_time >= run.heartbeat_at
    logs = out + err  # spark-submit relays the driver's stderr on its stdout
    assert f"run {job.run_id} of pipeline spark_pipe: SUCCESS at" in logs
    assert "CET (" in logs or "CEST (" in logs  # times in the user's timezone with UTC beside them


def test_failing_job_records_failed_and_keeps_its_exception(dynamodb_endpoint: str, submit: Callable[..., Job]) -> None:
    registry = registry_for(dynamodb_endpoint)
    job = submit(registry, "raise")
    code, out, err = job.wait()
    assert code != 0
    logs = out + err
    assert "ValueError: bad input row 42" in logs
    assert "Traceback" in logs
    run = stored_run(registry, job)
    assert (run.status, run.error_type, run.error_message) == (RunStatus.FAILED, "ValueError", "bad input row 42")
    assert run.metrics == {"records_read": 1000}


def test_sigterm_to_spark_submit_records_cancelled(dynamodb_endpoint: str, submit: Callable[..., Job]) -> None:
    registry = registry_for(dynamodb_endpoint)
    # a realistic end-write budget: the point is that CANCELLED is recorded, even on a loaded machine
    job = submit(registry, "wait", PIPELINE_REGISTRY_END_RETRY_SECONDS="20")
    wait_for_line(job, "READY")
    job.process.send_signal(signal.SIGTERM)  # what killing spark-submit does; the JVM does not forward it
    code, out, err = job.wait()
    assert code != 0
    driver_pid = int(job.pid_file.read_text())
    deadline = time.monotonic() + 60
    while _alive(driver_pid):  # the Python driver notices and exits on its own
        assert time.monotonic() < deadline, "the Python driver outlived spark-submit"
        time.sleep(0.1)
    run = stored_run(registry, job)
    assert run.status is RunStatus.CANCELLED, (run, job.driver_log()[-6000:], (out + err)[-3000:])
    assert run.error_message.startswith("parent process"), run.error_message
    assert run.is_running is None


def test_dynamodb_down_at_the_end_keeps_the_jobs_exit_code(
    dynamodb_local_factory: Callable[..., Any], submit: Callable[..., Job]
) -> None:
    private = dynamodb_local_factory()
    registry = registry_for(private.url)
    job = submit(registry, "wait")
    wait_for_line(job, "READY")
    assert stored_run(registry, job).status is RunStatus.RUNNING
    private.stop()
    job.go_file.touch()
    code, out, err = job.wait()
    assert code == 0, err[-4000:]
    assert "JOB DONE" in out
    logs = out + err
    assert f"run {job.run_id} of pipeline spark_pipe: could NOT record the end in DynamoDB" in logs
    assert "the job's real outcome is SUCCESS" in logs


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie re-parented to init is reaped quickly; treat "Z" state as gone
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except OSError:
        return False
    return state != "Z"

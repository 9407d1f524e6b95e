"""A real Airflow 3 deployment for tests: four component processes on a temporary AIRFLOW_HOME.

The settings come from the README's "Deploying with a real scheduler" block, run through bash with
this test's ports and virtualenv (so the tier proves exactly what the README tells users); the
harness adds only test plumbing on top (home, SQLite DB, DAGs folder, auth for the REST API,
unpaused DAGs, the registry connection pointed at DynamoDB Local).

Every wait is bounded and, when it runs out, fails with the tails of the components' logs.
Processes are started in their own process groups and stopped by PID at teardown.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from docs.doc_pages import section

from airflow_provider_pipeline_registry.registry import Registry

REPO_ROOT = Path(__file__).resolve().parents[2]
#: the docs section whose first bash block is the deployment's settings (tests/docs/doc_pages.py)
README_SECTION = "Deploying with a real scheduler"
COMPONENTS = ("api-server", "dag-processor", "scheduler", "triggerer")
#: SQLite's lock wait (seconds) in the scheduler, dag-processor and triggerer: with four components
#: writing on 2 loaded cores, a write may wait on another component's for seconds
COMPONENT_LOCK_WAIT = 60
#: the api-server's lock wait: sqlite3's default. It bounds how long the api-server freezes when an
#: audited REST write deadlocks on its event loop (see DatabaseBusy), so it stays short
API_SERVER_LOCK_WAIT = 5
#: one REST call's answer: longer than any lock wait in the api-server, so a slow answer is read, not lost
REQUEST_TIMEOUT = 120
#: how long a REST write keeps being sent again after a DatabaseBusy or a lost answer
WRITE_DEADLINE = 300
T = TypeVar("T")


class DeploymentError(AssertionError):
    """A bounded wait ran out, or a component died; the message carries the components' logs."""


class DatabaseBusy(DeploymentError):
    """The api-server answered 500 "Database error": a SQLite statement of the request gave up
    waiting for the lock (the write may or may not have landed: the read of its effect tells).

    On SQLite, Airflow 3's audited REST writes (trigger, PATCH state) commit their audit-log row
    synchronously on the api-server's event loop; when another request of the same api-server holds
    the write lock and needs the loop to commit (an Execution API heartbeat, say), neither can go on
    until the audit row's lock wait runs out: the whole api-server freezes for its busy timeout,
    then answers this (tests/deployment/test_rest_writes.py sends writes at once to prove the harness
    reports the truth through it).
    """


class Conflict(DeploymentError):
    """The api-server answered 409 Conflict (e.g. a dag run id that exists)."""


def readme_settings_block(title: str = README_SECTION) -> str:
    """The first ```bash block of the docs' deployment section (on whichever page holds it)."""
    found = section(title)
    match = re.compile(r"^```bash\n(.*?)^```", re.S | re.M).search(found.text + "\n")
    if match is None:
        raise AssertionError(f"no bash block under {found.heading!r} in {found.path}")
    return match.group(1)


def settings_from_readme(inputs: Mapping[str, str], base_env: Mapping[str, str]) -> dict[str, str]:
    """Run the README's block in bash with ``inputs``; the environment it leaves (NUL-separated ``env``)."""
    script = "set -euo pipefail\n" + readme_settings_block() + "\nenv -0\n"
    done = subprocess.run(
        ["bash", "-c", script], env={**base_env, **inputs}, capture_output=True, timeout=60, check=False
    )
    if done.returncode != 0:
        raise AssertionError(f"the README's deployment block failed ({done.returncode}): {done.stderr.decode()}")
    env: dict[str, str] = {}
    for entry in done.stdout.decode().split("\0"):
        if "=" in entry:
            key, value = entry.split("=", 1)
            env[key] = value
    return env


def _log_line(entry: Any) -> str:
    """One structured task-log entry as text: its event, plus an exception's type and message."""
    if not isinstance(entry, dict):
        return str(entry)
    line = str(entry.get("event", ""))
    for detail in entry.get("error_detail") or []:
        if isinstance(detail, dict):
            line += f"\n{detail.get('exc_type')}: {detail.get('exc_value')}"
    return line


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tail(path: Path, lines: int = 60) -> str:
    try:
        content = path.read_text(errors="replace").splitlines()
    except OSError as exc:
        return f"<{path}: {exc}>"
    return "\n".join(content[-lines:])


@dataclass
class Component:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path


@dataclass
class Deployment:
    """The running components and a small REST client for them."""

    home: Path
    env: dict[str, str] = field(repr=False)  # holds the test's JWT secret
    api_url: str
    logs_dir: Path
    components: list[Component] = field(default_factory=list)
    #: every REST call so far: (method, path, seconds, status or the error's type), for failure reports
    calls: list[tuple[str, str, float, str]] = field(default_factory=list, repr=False)
    _token: str | None = field(default=None, repr=False)

    # -- processes ---------------------------------------------------------------------------
    def run_cli(self, *args: str, timeout: float = 300) -> str:
        """``airflow <args>`` with the deployment's environment; its output, or a failure with it."""
        done = subprocess.run(
            [str(Path(sys.prefix) / "bin" / "airflow"), *args],
            env=self.env,
            capture_output=True,
            timeout=timeout,
            check=False,
            cwd=self.home,
        )
        output = done.stdout.decode(errors="replace") + done.stderr.decode(errors="replace")
        if done.returncode != 0:
            raise DeploymentError(f"airflow {' '.join(args)} exited {done.returncode}:\n{output[-6000:]}")
        return output

    def start(self, name: str, *args: str, env: Mapping[str, str] | None = None) -> None:
        """``airflow <name> <args>`` in the background (``env``: settings of this component only)."""
        log_path = self.logs_dir / f"{name}.log"
        handle = log_path.open("wb")
        process = subprocess.Popen(
            [str(Path(sys.prefix) / "bin" / "airflow"), name, *args],
            env={**self.env, **(env or {})},
            stdout=handle,
            stderr=subprocess.STDOUT,
            cwd=self.home,
            start_new_session=True,  # its own process group: stopped with its children by PID
        )
        handle.close()
        self.components.append(Component(name, process, log_path))

    def stop(self, grace: float = 30) -> None:
        """SIGTERM each component's process group, wait (bounded), then SIGKILL what is left."""
        for component in self.components:
            if component.process.poll() is None:
                with suppress(ProcessLookupError):
                    os.killpg(component.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for component in self.components:
            with suppress(subprocess.TimeoutExpired):
                component.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        for component in self.components:
            # the group may outlive its leader (task runners, spark-submit, JVMs): kill it in any case
            with suppress(ProcessLookupError, PermissionError):
                os.killpg(component.process.pid, signal.SIGKILL)
            with suppress(subprocess.TimeoutExpired):
                component.process.wait(timeout=10)

    def dead_components(self) -> list[str]:
        return [f"{c.name} (exit {c.process.returncode})" for c in self.components if c.process.poll() is not None]

    def component_logs(self, lines: int = 60) -> str:
        parts = [
            f"----- {c.name} (pid {c.process.pid}): {c.log_path} -----\n{tail(c.log_path, lines)}"
            for c in self.components
        ]
        slowest = sorted(self.calls, key=lambda call: call[2], reverse=True)[:10]
        parts.append("----- the slowest REST calls -----")
        parts.extend(f"{seconds:7.1f} s {method} {path} -> {outcome}" for method, path, seconds, outcome in slowest)
        return "\n".join(parts)

    def fail(self, message: str) -> DeploymentError:
        return DeploymentError(f"{message}\n\n===== component logs (tails) =====\n{self.component_logs()}")

    def wait_for(self, what: str, probe: Callable[[], T | None], timeout: float, interval: float = 1.0) -> T:
        """Call ``probe`` until it returns something other than None, at most ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        while True:
            dead = self.dead_components()
            if dead:
                raise self.fail(f"while waiting for {what}: component(s) died: {', '.join(dead)}")
            try:
                value = probe()
            except (OSError, DeploymentError, KeyError, ValueError) as exc:  # not up yet, or a transient answer
                last_error = exc
                value = None
            if value is not None:
                return value
            if time.monotonic() >= deadline:
                raise self.fail(f"gave up waiting for {what} after {timeout:.0f} s (last error: {last_error!r})")
            time.sleep(interval)

    # -- REST API ----------------------------------------------------------------------------
    def token(self) -> str:
        if self._token is None:
            # the simple auth manager with all_admins hands out a token without credentials
            request = urllib.request.Request(f"{self.api_url}/auth/token", method="GET")
            with urllib.request.urlopen(request, timeout=30) as response:
                self._token = str(json.loads(response.read())["access_token"])
        return self._token

    def _record(self, method: str, path: str, started: float, outcome: str) -> None:
        seconds = time.monotonic() - started
        self.calls.append((method, path, seconds, outcome))
        with (self.logs_dir / "rest-calls.log").open("a") as log:
            log.write(f"{time.strftime('%H:%M:%S')} {seconds:7.2f} s {method} {path} -> {outcome}\n")

    def api(self, method: str, path: str, body: Any = None, *, ok: tuple[int, ...] = (200,)) -> Any:
        """One REST call to ``/api/v2<path>``; the decoded JSON, or DeploymentError with the answer."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"{self.api_url}/api/v2{path}",
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self.token()}", "Content-Type": "application/json"},
        )
        started = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT) as response:
                status, payload = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, payload = exc.code, exc.read()
        except OSError as exc:
            self._record(method, path, started, type(exc).__name__)
            raise
        self._record(method, path, started, str(status))
        if status not in ok:
            error = DeploymentError
            if status == 409:
                error = Conflict
            elif status == 500 and b'"Database error"' in payload:
                error = DatabaseBusy
            raise error(f"{method} /api/v2{path} -> {status}: {payload[:2000]!r}")
        text = payload.decode(errors="replace")
        if not text:
            return None
        try:
            return json.loads(text)
        except ValueError:
            return text

    # -- dags, runs, tasks -------------------------------------------------------------------
    def wait_for_dag(self, dag_id: str, timeout: float = 180) -> None:
        self.wait_for(f"DAG {dag_id} to be parsed", lambda: self.api("GET", f"/dags/{dag_id}") or None, timeout)

    def write(self, method: str, path: str, body: Any, *, applied: Callable[[], Any | None]) -> Any:
        """A REST write that reports the truth. After a :class:`DatabaseBusy` or a lost answer
        (timeout, reset) it is sent again only once ``applied()``, a read of the write's effect
        (None while it is absent), shows that it did not land; a POST answered 409 Conflict on a
        later attempt means an earlier one landed. The answer, or the effect as read."""
        last_error: Exception | None = None
        deadline = time.monotonic() + WRITE_DEADLINE
        attempt = 0
        unsure = False  # an answer was lost: that attempt may have landed
        while True:
            try:
                if unsure:
                    landed = applied()
                    if landed is not None:
                        return landed
                    unsure = False
                attempt += 1
                return self.api(method, path, body)
            except Conflict as exc:
                if method != "POST" or attempt == 1:
                    raise
                last_error, unsure = exc, True  # an earlier attempt created it: read what it left
            except (DatabaseBusy, OSError) as exc:
                last_error, unsure = exc, True
            if time.monotonic() >= deadline:
                raise self.fail(f"{method} {path} did not land in {WRITE_DEADLINE} s (last: {last_error!r})")
            time.sleep(min(2.0 * attempt, 10.0))

    def trigger(self, dag_id: str, run_id: str, conf: dict[str, Any] | None = None) -> str:
        self.wait_for_dag(dag_id)
        body = {"dag_run_id": run_id, "logical_date": None, "conf": conf or {}}

        def created() -> dict[str, Any] | None:
            answer = self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}", ok=(200, 404))
            return answer if isinstance(answer, dict) and "dag_run_id" in answer else None

        return str(self.write("POST", f"/dags/{dag_id}/dagRuns", body, applied=created)["dag_run_id"])

    def set_dag_run_state(self, dag_id: str, run_id: str, state: str) -> None:
        """Mark the dag run ``state`` (as the UI's "mark failed/success" does)."""
        self._set_state(f"/dags/{dag_id}/dagRuns/{run_id}", "state", state)

    def set_task_state(self, dag_id: str, run_id: str, task_id: str, state: str) -> None:
        """Mark a task instance ``state`` (as the UI's "mark failed/success" does)."""
        self._set_state(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}", "new_state", state)

    def _set_state(self, path: str, field: str, state: str) -> None:
        """PATCH ``{field: state}`` to ``path``; it landed once a GET of ``path`` reads that state."""

        def reached() -> dict[str, Any] | None:
            current = dict(self.api("GET", path))
            return current if current["state"] == state else None

        self.write("PATCH", path, {field: state}, applied=reached)

    def dag_run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        return dict(self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}"))

    def task_instance(self, dag_id: str, run_id: str, task_id: str) -> dict[str, Any]:
        return dict(self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}"))

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str | None]:
        answer = self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances")
        return {ti["task_id"]: ti["state"] for ti in answer["task_instances"]}

    def tries(self, dag_id: str, run_id: str, task_id: str) -> list[dict[str, Any]]:
        answer = self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/tries")
        return list(answer["task_instances"])

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int) -> str:
        answer = self.api(
            "GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}?full_content=true"
        )
        content = answer.get("content") if isinstance(answer, dict) else answer
        if isinstance(content, list):
            return "\n".join(_log_line(entry) for entry in content)
        return str(content)

    def wait_for_dag_run(self, dag_id: str, run_id: str, timeout: float = 900) -> dict[str, Any]:
        """The dag run once it is finished (success or failed)."""

        def finished() -> dict[str, Any] | None:
            run = self.dag_run(dag_id, run_id)
            return run if run["state"] in ("success", "failed") else None

        try:
            return self.wait_for(f"dag run {dag_id}/{run_id} to finish", finished, timeout, interval=2)
        except DeploymentError as exc:
            with suppress(Exception):
                exc.args = (f"{exc.args[0]}\ntask states: {self.task_states(dag_id, run_id)}",)
            raise

    def wait_for_task_state(
        self, dag_id: str, run_id: str, task_id: str, states: tuple[str, ...], timeout: float = 300
    ) -> dict[str, Any]:
        def reached() -> dict[str, Any] | None:
            ti = self.task_instance(dag_id, run_id, task_id)
            return ti if ti["state"] in states else None

        return self.wait_for(f"{dag_id}/{run_id}/{task_id} to be {'/'.join(states)}", reached, timeout, interval=0.5)


@dataclass
class DeployedRegistry:
    registry: Registry
    markers_dir: Path
    prefix: str

    def run(self, pipeline_id: str, dag_id: str, dag_run_id: str, task_group_id: str | None = None) -> dict[str, Any]:
        """The run log of a dag run of a pipeline DAG (consistent read), as JSON (``task_group_id``: the
        group of a ``PipelineRunTaskGroup``)."""
        from airflow_provider_pipeline_registry.registry.run_env import derive_run_id

        run_id = derive_run_id(dag_id, dag_run_id, task_group_id)
        view = self.registry.runs.find_by_id(run_id, pipeline_id, consistent=True)
        assert view is not None, f"no run log for {dag_id}/{dag_run_id} of {pipeline_id}"
        return dict(view.model_dump(mode="json"))


def sqlite_url(home: Path, lock_wait: float) -> str:
    """The deployment's SQLite metadata DB, with a lock wait (sqlite3's busy timeout) of ``lock_wait`` s."""
    return f"sqlite:///{home / 'airflow' / 'airflow.db'}?timeout={lock_wait:g}"


def start_deployment(
    home: Path, *, dags_folder: Path, extra_env: Mapping[str, str], startup_timeout: float = 300
) -> Iterator[Deployment]:
    """Start the four components (generator: yields the running Deployment, stops it afterwards)."""
    home.mkdir(parents=True, exist_ok=True)
    logs_dir = home / "component-logs"
    logs_dir.mkdir()
    api_port = free_port()
    # the test process's own Airflow settings (unit-test mode, its DB) must not leak into the components
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    inputs = {
        "VENV": sys.prefix,
        "API_HOST": "127.0.0.1",
        "API_PORT": str(api_port),
        "WORKER_LOG_PORT": str(free_port()),
        "TRIGGER_LOG_PORT": str(free_port()),
        "JWT_SECRET": os.urandom(24).hex(),
    }
    env = settings_from_readme(inputs, base_env)
    env.update(
        {
            # test plumbing only, on top of the README's settings
            "AIRFLOW_HOME": str(home / "airflow"),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": sqlite_url(home, COMPONENT_LOCK_WAIT),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__API__SECRET_KEY": os.urandom(24).hex(),
            "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            # a loaded machine with SQLite: a task's first Execution API call can wait for the DB lock
            # far longer than the 5 s default. (Do not cap [core] parallelism: a task the executor
            # holds queued longer than [execution_api] jwt_expiration_time fails "Invalid auth token".)
            "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT": "90",
            **extra_env,
        }
    )
    deployment = Deployment(home=home, env=env, api_url=f"http://127.0.0.1:{api_port}", logs_dir=logs_dir)
    try:
        deployment.run_cli("db", "migrate")
        api_server_db = {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": sqlite_url(home, API_SERVER_LOCK_WAIT)}
        deployment.start("api-server", "--port", str(api_port), "--host", "127.0.0.1", env=api_server_db)
        deployment.start("dag-processor")
        deployment.start("scheduler")
        deployment.start("triggerer")
        deployment.wait_for("the api-server and its auth token", deployment.token, startup_timeout)

        def all_healthy() -> dict[str, Any] | None:
            health = deployment.api("GET", "/monitor/health")
            states = {
                name: (health.get(name) or {}).get("status") for name in ("scheduler", "triggerer", "dag_processor")
            }
            return health if all(state == "healthy" for state in states.values()) else None

        deployment.wait_for("scheduler, triggerer and dag-processor heartbeats", all_healthy, startup_timeout)
        yield deployment
    finally:
        deployment.stop()

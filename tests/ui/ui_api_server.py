"""A real ``airflow api-server`` on a free port over a throw-away AIRFLOW_HOME, for the browser test."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path

STARTUP_TIMEOUT = 240.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def airflow_env(home: Path, extra: Mapping[str, str]) -> dict[str, str]:
    """The environment of the Airflow commands: own home and DB, no examples, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
            "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        }
    )
    env.update(extra)
    return env


def airflow_command() -> list[str]:
    """The ``airflow`` command of this environment."""
    binary = Path(sys.executable).with_name("airflow")
    return [str(binary)] if binary.exists() else [sys.executable, "-m", "airflow"]


def _tail(path: Path, lines: int = 60) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@contextlib.contextmanager
def running_api_server(home: Path, extra_env: Mapping[str, str]) -> Iterator[str]:
    """Migrate the DB, start the api-server, wait until healthy; yield its base URL; stop it."""
    (home / "dags").mkdir(parents=True, exist_ok=True)
    env = airflow_env(home, extra_env)
    migrate = subprocess.run(
        [*airflow_command(), "db", "migrate"], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    if migrate.returncode != 0:
        raise RuntimeError(f"airflow db migrate failed:\n{migrate.stdout[-3000:]}\n{migrate.stderr[-3000:]}")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env["AIRFLOW__API__BASE_URL"] = base
    log_path = home / "api-server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*airflow_command(), "api-server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"api-server exited with {process.returncode}:\n{_tail(log_path)}")
            try:
                with urllib.request.urlopen(f"{base}/api/v2/monitor/health", timeout=5) as response:
                    if response.status == 200 and json.load(response):
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError, ValueError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"api-server not healthy after {STARTUP_TIMEOUT:.0f} s:\n{_tail(log_path)}")
            time.sleep(1.0)
        yield base
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=30)
        shutil.copy(log_path, home / "api-server.last.log")

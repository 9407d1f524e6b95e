"""Forks one ``logged_driver`` process per request, after importing everything once.

Each SIGTERM trial needs a fresh process; on a loaded machine a fresh Python that imports boto3
and pydantic takes seconds, so the trials would spend their time starting up. This process
imports once, then for each line ``<trial> <run_id>`` on stdin forks a child that runs
``logged_driver.main("loop")`` with that run id (no boto3 client or thread exists before the
fork). Every line a child prints is ``<trial> <what>``: ``PID <pid>`` (printed by the parent),
``READY``, ``END-WRITE`` and, last, ``EXIT <code>`` (the exit code the child then exits with).
"""

from __future__ import annotations

import os
import signal
import sys
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import boto3  # noqa: F401 - imported once, before any fork
import botocore.session  # noqa: F401
import logged_driver

from airflow_provider_pipeline_registry.registry import gateway, run_logger, run_logs  # noqa: F401
from airflow_provider_pipeline_registry.registry.run_logs import commands  # noqa: F401


def child(trial: str, run_id: str) -> None:
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    os.environ["PIPELINE_REGISTRY_RUN_ID"] = run_id

    def emit(what: str) -> None:
        os.write(1, f"{trial} {what}\n".encode())

    code = 1
    try:
        code = logged_driver.main("loop", emit)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc()
    emit(f"EXIT {code}")
    os._exit(code)


def main() -> None:
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped automatically
    for line in sys.stdin:
        trial, run_id = line.split()
        pid = os.fork()
        if pid == 0:
            child(trial, run_id)
        os.write(1, f"{trial} PID {pid}\n".encode())


if __name__ == "__main__":
    main()

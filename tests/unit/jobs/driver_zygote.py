"""Forks one ``logged_driver`` process per request, after importing everything once.

Each SIGTERM trial needs a fresh process; on a loaded machine a fresh Python that imports boto3
and pydantic takes seconds, so the trials would spend their time starting up. This process
imports once, then for each line ``<trial> <run_id> [<mode> [<stderr file>]]`` on stdin forks a
child that runs ``logged_driver.main(mode)`` (default ``loop``) with that run id (no boto3 client
or thread exists before the fork), its stderr written to the file when one is named. Every line a
child prints is ``<trial> <what>``: ``PID <pid>`` (printed by the parent), ``READY``,
``END-WRITE`` and, last, ``EXIT <code>`` (the exit code the child then exits with; an uncaught
``KeyboardInterrupt`` counts as 130, the status a shell shows for a Python killed by SIGINT).
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


def child(trial: str, run_id: str, mode: str, stderr_path: str | None) -> None:
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    os.environ["PIPELINE_REGISTRY_RUN_ID"] = run_id
    if stderr_path:
        os.dup2(os.open(stderr_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 2)

    def emit(what: str) -> None:
        os.write(1, f"{trial} {what}\n".encode())

    code = 1
    try:
        code = logged_driver.main(mode, emit)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except KeyboardInterrupt:
        traceback.print_exc()
        code = 128 + signal.SIGINT
    except BaseException:
        traceback.print_exc()
    emit(f"EXIT {code}")
    os._exit(code)


def main() -> None:
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped automatically
    os.write(1, b"zygote READY\n")  # imported: forks are cheap from now on
    for line in sys.stdin:
        trial, run_id, *rest = line.split()
        mode = rest[0] if rest else "loop"
        stderr_path = rest[1] if len(rest) > 1 else None
        pid = os.fork()
        if pid == 0:
            child(trial, run_id, mode, stderr_path)
        os.write(1, f"{trial} PID {pid}\n".encode())


if __name__ == "__main__":
    main()

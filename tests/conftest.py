"""Shared test setup.

The environment block below MUST run before anything imports airflow (Airflow reads
its configuration at import time), so keep it at the very top of this file.
"""

from __future__ import annotations

import atexit
import importlib.metadata
import logging
import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

TESTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TESTS_DIR.parent

# --- Airflow: a throw-away AIRFLOW_HOME with its own sqlite metadata DB -------------
_AIRFLOW_HOME = tempfile.mkdtemp(prefix="pr-airflow-")
atexit.register(shutil.rmtree, _AIRFLOW_HOME, ignore_errors=True)
os.environ["AIRFLOW_HOME"] = _AIRFLOW_HOME
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(TESTS_DIR / "dags")
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_AIRFLOW_HOME}/airflow.db"
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "True"
# Airflow 2.11 (the tier of scripts/test-airflow2.sh): unit-test mode loads a config whose executor
# is LocalExecutor, which refuses SQLite; dag.test() needs no executor, so take the one SQLite allows.
# Read from the distribution's metadata: airflow itself must not be imported yet.
AIRFLOW_MAJOR = int(importlib.metadata.version("apache-airflow").split(".")[0])
if AIRFLOW_MAJOR < 3:
    os.environ["AIRFLOW__CORE__EXECUTOR"] = "SequentialExecutor"

# --- AWS: dummy credentials so nothing can ever reach a real account -----------------
os.environ["AWS_ACCESS_KEY_ID"] = "testing"
os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"
for _var in ("AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
    os.environ.pop(_var, None)
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

# tests/ has no __init__.py: put it on sys.path so test modules can share helpers.
sys.path.insert(0, str(TESTS_DIR))

import pytest  # noqa: E402
from backends import FEATURES, BackendError, selected_backend, start_backend, unavailable_features  # noqa: E402
from dynamodb_local import DynamoDBLocal, DynamoDBLocalError  # noqa: E402
from hypothesis import settings as hypothesis_settings  # noqa: E402
from registry_fixtures import registry_on  # noqa: E402

from airflow_provider_pipeline_registry.registry import Registry  # noqa: E402

# --- hypothesis: reproducible property tests ----------------------------------------------
# A failure prints ``@reproduce_failure(...)`` (print_blob) next to the falsifying example; a
# whole run is replayed with ``--hypothesis-seed=N``. ``HYPOTHESIS_PROFILE=ci`` derandomizes
# (the same examples on every run, so CI cannot flake on a lucky seed).
hypothesis_settings.register_profile("default", print_blob=True)
hypothesis_settings.register_profile("ci", print_blob=True, derandomize=True, database=None)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

ENDPOINT_ENV_VAR = "PIPELINE_REGISTRY_TEST_ENDPOINT"

_MARKERS = {
    "integration": "needs DynamoDB Local (started by the session fixture)",
    "airflow": "runs real Airflow (dag.test)",
    "spark": "runs real spark-submit",
    "needs": "needs(feature): a DynamoDB feature some emulators lack (tests/backends.py); deselected there",
    "deployment": "runs the Airflow components as separate processes (api-server, dag-processor, scheduler, triggerer)",
}


def pytest_report_header(config: pytest.Config) -> str:
    seed = config.getoption("hypothesis_seed", None)
    profile = os.environ.get("HYPOTHESIS_PROFILE", "default")
    return f"hypothesis profile: {profile}; replay a run with --hypothesis-seed={seed if seed is not None else 'N'}"


def pytest_configure(config: pytest.Config) -> None:
    gone = [name for name in _LONGEST_FIRST if not (TESTS_DIR / name).exists()]
    if gone:  # a renamed module would silently lose its early start
        raise pytest.UsageError(f"tests/conftest.py _LONGEST_FIRST names what tests/ does not hold: {gone}")
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(_WorkerScheduling(), "pipeline-registry-worker-scheduling")
    # pyproject.toml registers these too; only add the ones missing (--strict-markers).
    registered = {line.split(":", 1)[0].strip() for line in config.getini("markers")}
    for name, description in _MARKERS.items():
        if name not in registered:
            config.addinivalue_line("markers", f"{name}: {description}")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect (never skip) the tests needing a feature this backend or this Airflow lacks; start
    with the longest directories (see ``_LONGEST_FIRST``)."""
    missing = unavailable_features()
    kept, dropped = [], []
    for item in items:
        needed = {feature for mark in item.iter_markers("needs") for feature in mark.args}
        unknown = needed - set(FEATURES)
        if unknown:
            raise pytest.UsageError(f"{item.nodeid}: unknown feature(s) {sorted(unknown)} in @pytest.mark.needs")
        (dropped if needed & missing else kept).append(item)
    kept.sort(key=_start_order)  # stable: the order within a directory is kept
    items[:] = kept
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        config.stash[_DESELECTED_KEY] = [(i.nodeid, sorted(missing & _needs(i))) for i in dropped]
        if hasattr(config, "workeroutput"):  # an xdist worker: the controller prints the list
            config.workeroutput["deselected"] = config.stash[_DESELECTED_KEY]


#: test directories whose tests share one expensive session fixture (a whole Airflow deployment,
#: an api-server and a browser): under pytest-xdist each runs in one worker, never started twice
_SHARED_SESSION_DIRS = ("deployment", "ui")
#: the longest work units first, so that no worker is left with a long one at the end: whole
#: directories, then the longest modules (their seconds in a full run, 2 loaded cores: sensor modes
#: 111, injected faults 93, run logger 70, task group 45, scale 9 here but 43-57 on moto server,
#: openlineage 34, replays 32, pyspark task 30). The short modules, in collection order, fill the end.
_LONGEST_FIRST = (
    "deployment",
    "docs",
    "spark",
    "examples",
    "packaging",
    "ui",
    "airflow/test_sensor_modes.py",
    "reliability/test_injected_faults.py",
    "unit/test_run_logger.py",
    "airflow/test_pipeline_task_group.py",
    "integration/test_registry_scale.py",
    "airflow/test_openlineage_dag.py",
    "reliability/test_replays_other_writers.py",
    "airflow/test_run_logger_pyspark_task.py",
)


def _work_unit(nodeid: str) -> str:
    """What one xdist worker runs as a whole: a test module, or a whole shared-session directory."""
    path = nodeid.split("::", 1)[0]
    parts = path.split("/")
    if len(parts) > 2 and parts[1] in _SHARED_SESSION_DIRS:
        return "/".join(parts[:2])
    return path


def _start_order(item: pytest.Item) -> int:
    path = item.path.relative_to(TESTS_DIR)
    for name in (path.as_posix(), path.parts[0]):
        if name in _LONGEST_FIRST:
            return _LONGEST_FIRST.index(name)
    return len(_LONGEST_FIRST)


class _WorkerScheduling:
    """``pytest -n 2 --dist loadscope`` (scripts/test.sh): work units by :func:`_work_unit`.

    xdist's own ``loadgroup`` cannot be used: it renames node ids through an attribute pytest 9.2
    no longer reads, so its groups are silently ignored.
    """

    def pytest_xdist_make_scheduler(self, config: pytest.Config, log: Any) -> Any:
        if config.getvalue("dist") != "loadscope":
            return None
        from xdist.scheduler import LoadScopeScheduling

        class ByWorkUnit(LoadScopeScheduling):
            def _split_scope(self, nodeid: str) -> str:
                return _work_unit(nodeid)

        return ByWorkUnit(config, log)

    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        """The controller lists what the workers deselected (they collect, it does not)."""
        reported = getattr(node, "workeroutput", {}).get("deselected", [])
        listed = node.config.stash.setdefault(_DESELECTED_KEY, [])
        listed.extend(entry for entry in map(tuple, reported) if entry not in listed)


def _needs(item: pytest.Item) -> set[str]:
    return {feature for mark in item.iter_markers("needs") for feature in mark.args}


_DESELECTED_KEY = pytest.StashKey[list[tuple[str, list[str]]]]()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    deselected = config.stash.get(_DESELECTED_KEY, [])
    if deselected:
        terminalreporter.section(f"not run on {selected_backend()} (feature not available: tests/backends.py)")
        for nodeid, features in deselected:
            terminalreporter.write_line(f"{nodeid}: {', '.join(features)}")


def _try_start(server: DynamoDBLocal) -> str | None:
    """Start ``server``; return the error text instead of raising (keeps pytest.fail output clean)."""
    try:
        server.start()
    except DynamoDBLocalError as exc:
        return str(exc)
    return None


@pytest.fixture(scope="session")
def dynamodb_backend() -> str:
    """The DynamoDB implementation of this session (``$PIPELINE_REGISTRY_TEST_BACKEND``)."""
    return selected_backend()


@pytest.fixture(scope="session")
def dynamodb_endpoint(tmp_path_factory: pytest.TempPathFactory, dynamodb_backend: str) -> Iterator[str]:
    """URL of a DynamoDB shared by the whole session.

    Uses $PIPELINE_REGISTRY_TEST_ENDPOINT if set; otherwise starts the selected backend
    (DynamoDB Local by default, in memory) and stops it at the end of the session. Fails
    loudly -- never skips -- if it can't.
    """
    external = os.environ.get(ENDPOINT_ENV_VAR)
    if external:
        yield external
        return
    log_path = tmp_path_factory.mktemp("dynamodb-backend") / f"{dynamodb_backend}.log"
    try:
        backend = start_backend(dynamodb_backend, log_path)
        url = backend.__enter__()
    except BackendError as exc:
        pytest.fail(f"Could not start {dynamodb_backend} for the test session:\n{exc}", pytrace=False)
    try:
        yield url
    finally:
        backend.__exit__(None, None, None)


@pytest.fixture
def dynamodb_local_factory(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[..., DynamoDBLocal]]:
    """Start private DynamoDB Local instances (e.g. for restart/resilience tests).

    ``factory(db_path=None, **kwargs) -> DynamoDBLocal`` (already started); all are
    stopped at the end of the test.
    """
    started: list[DynamoDBLocal] = []

    def factory(**kwargs: object) -> DynamoDBLocal:
        kwargs.setdefault("log_path", tmp_path_factory.mktemp("dynamodb-local") / "dynamodb-local.log")
        server = DynamoDBLocal(**kwargs)  # type: ignore[arg-type]
        started.append(server)
        error = _try_start(server)
        if error is not None:
            pytest.fail(f"Could not start DynamoDB Local:\n{error}", pytrace=False)
        return server

    yield factory
    for server in started:
        server.stop()


class _DagTestStdoutStandIn(logging.StreamHandler):  # type: ignore[type-arg]
    """Stands in for the stdout handler Airflow 2.11's dag.test() adds; writes nothing."""

    def emit(self, record: logging.LogRecord) -> None:
        pass


@pytest.fixture(autouse=True)
def _one_copy_of_dag_test_task_logs() -> None:
    """Airflow 2.11's dag.test() adds ``StreamHandler(sys.stdout)`` to the ``airflow.task`` logger
    unless it has one: added once per process, bound to the first test's captured stdout, it writes
    into a closed file ever after (and doubles every line the root logger's console handler
    already prints to the current stdout). Give the logger a silent stand-in before each test."""
    if AIRFLOW_MAJOR >= 3 or "airflow" not in sys.modules:
        return
    task_logger = logging.getLogger("airflow.task")
    for handler in list(task_logger.handlers):
        if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler):
            task_logger.removeHandler(handler)
    task_logger.addHandler(_DagTestStdoutStandIn())


@pytest.fixture
def unique_prefix() -> str:
    """A table-name prefix unique to this test, e.g. ``t1a2b3c4d5e_``."""
    return f"t{uuid.uuid4().hex[:10]}_"


# --- the one registry fixture and the one Airflow metadata DB fixture of the suite -------------
RegistryFactory = Callable[..., Registry]

#: the backoff of the suite's registries: short, but long enough for an emulator's contention
SUITE_BACKOFF: dict[str, Any] = {"base_backoff_seconds": 0.01, "max_backoff_seconds": 0.2}


@pytest.fixture
def make_registry(dynamodb_endpoint: str, unique_prefix: str) -> RegistryFactory:
    """``make_registry(create=True, **config_overrides)``: a Registry (own client) on this test's
    tables (prefix :func:`unique_prefix`, created on first use).

    Several calls in one test share the tables but may differ in timezone, retries or retention.
    Fixtures that share tables across a module call ``registry_fixtures.registry_on`` themselves.
    """

    def factory(*, create: bool = True, **overrides: Any) -> Registry:
        return registry_on(dynamodb_endpoint, unique_prefix, create=create, **{**SUITE_BACKOFF, **overrides})

    return factory


@pytest.fixture
def registry(make_registry: RegistryFactory) -> Registry:
    """A Registry on DynamoDB Local with freshly created tables (user timezone UTC); the CLI's
    ``cli`` fixture and the Airflow ``registry_conn_id`` use the same prefix, so they see its items."""
    return make_registry()


@pytest.fixture(scope="session")
def airflow_db() -> None:
    """A migrated Airflow metadata DB (the SQLite file set up at the top of this file), once per
    session: for ``dag.test()``, the UI's auth manager and the secrets tests."""
    from airflow.utils.db import resetdb
    from airflow_versions import root_logging_kept

    with root_logging_kept():
        resetdb()

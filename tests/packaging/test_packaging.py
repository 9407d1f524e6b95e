"""The built distributions, installed the way the README says, in fresh virtual environments.

* the wheel with its dependencies (pinned by uv.lock): Airflow lists the provider and the console
  script answers ``--help``;
* the slim Spark-driver install (the wheel without dependencies, then boto3 and pydantic): the
  registry core and ``PipelineRunLogger`` record a run against DynamoDB Local, with no Airflow;
* the sdist holds tracked files only.

uv does the work (``uv build``, ``uv venv``, ``uv pip install``), reusing its cache.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.packaging

REPO = Path(__file__).resolve().parents[2]
PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"
#: the slim driver install of the README (its second line)
DRIVER_REQUIREMENTS = ("boto3>=1.34", "pydantic>=2.7,<3")


def _uv() -> str:
    uv = shutil.which("uv")
    if uv is None:  # scripts/setup.sh installs it; without it this test cannot run
        pytest.fail("uv is not on PATH (run scripts/setup.sh)", pytrace=False)
    return uv


def run(*args: str | Path, env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
    """Run a command; fail with its output if it fails."""
    completed = subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, timeout=900, env=env, cwd=cwd, check=False
    )
    if completed.returncode != 0:
        pytest.fail(
            f"{' '.join(map(str, args))} exited {completed.returncode}\n{completed.stdout}\n{completed.stderr}",
            pytrace=False,
        )
    return completed.stdout


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without this test session's virtualenv and Airflow settings."""
    drop = ("VIRTUAL_ENV", "PYTHONPATH", "AIRFLOW_HOME", "UV_PROJECT_ENVIRONMENT")
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("AIRFLOW__")}
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``uv build`` of this checkout: one wheel and one sdist."""
    out = tmp_path_factory.mktemp("dist")
    run(_uv(), "build", "--out-dir", out, REPO, env=clean_env())
    return out


@pytest.fixture(scope="module")
def constraints(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The locked versions (uv.lock), so that fresh installs resolve to what CI tests."""
    path = tmp_path_factory.mktemp("constraints") / "constraints.txt"
    text = run(
        _uv(), "export", "--frozen", "--no-dev", "--no-emit-project", "--no-hashes", "--project", REPO, env=clean_env()
    )
    path.write_text(text, encoding="utf-8")
    return path


def wheel(dist: Path) -> Path:
    [found] = dist.glob("*.whl")
    return found


def fresh_venv(path: Path) -> Path:
    """A new virtual environment; returns its python."""
    run(_uv(), "venv", "--python", PYTHON, path, env=clean_env())
    return path / "bin" / "python"


def test_sdist_holds_tracked_files_only(dist: Path) -> None:
    if not (REPO / ".git").exists():
        pytest.fail("not a git checkout: cannot compare the sdist with the tracked files", pytrace=False)
    tracked = set(run("git", "ls-files", cwd=REPO).splitlines())
    [sdist] = dist.glob("*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {m.name.split("/", 1)[1] for m in archive.getmembers() if m.isfile() and "/" in m.name}
    names.discard("PKG-INFO")
    assert names, "empty sdist"
    assert names <= tracked, (
        f"untracked files would go into the sdist (commit or remove them): {sorted(names - tracked)}"
    )
    assert {"LICENSE", "README.md", "pyproject.toml"} <= names
    assert "Apache License" in (REPO / "LICENSE").read_text(encoding="utf-8")[:200]


def test_wheel_ships_the_openlineage_facet_schema(dist: Path) -> None:
    """The custom run facet's JSON schema (README: Assets and lineage) is package data of the wheel."""
    import zipfile

    with zipfile.ZipFile(wheel(dist)) as archive:
        schema = json.loads(archive.read("airflow_provider_pipeline_registry/facets/PipelineRegistryRunRunFacet.json"))
    assert "PipelineRegistryRunRunFacet" in schema["$defs"]


def test_wheel_in_a_fresh_venv_is_an_airflow_provider_with_a_cli(dist: Path, constraints: Path, tmp_path: Path) -> None:
    python = fresh_venv(tmp_path / "venv")
    # README: `pip install dist/*.whl` (pinned here to the locked versions)
    run(_uv(), "pip", "install", "--python", python, "-c", constraints, wheel(dist), env=clean_env())
    bin_dir = python.parent
    env = clean_env(AIRFLOW_HOME=str(tmp_path / "airflow"), AIRFLOW__CORE__LOAD_EXAMPLES="False")

    providers = json.loads(run(bin_dir / "airflow", "providers", "list", "--output", "json", env=env))
    ours = [p for p in providers if p["package_name"] == "airflow-provider-pipeline-registry"]
    assert ours, [p["package_name"] for p in providers]
    assert ours[0]["version"] == "0.1.0"

    help_text = run(bin_dir / "pipeline-registry", "--help", env=env)
    for command in ("tables", "config", "pipelines", "runs"):
        assert command in help_text
    license_files = list((python.parents[1] / "lib").glob("python*/site-packages/airflow_provider_pipeline_registry-*"))
    assert any("Apache License" in p.read_text() for d in license_files for p in d.rglob("LICENSE*")), license_files


SLIM_DRIVER = """
import importlib.util, json, os, sys
assert importlib.util.find_spec("airflow") is None, "Airflow must not be installed here"
from airflow_provider_pipeline_registry.registry import DynamoDBConfig, PipelineRunLogger, Registry

config = DynamoDBConfig.from_env()
registry = Registry(config)
registry.create_tables()
with PipelineRunLogger(pipeline_id="slim", run_id="slim/1", config=config, heartbeat_interval=60) as run:
    run.records_read(10)
view = registry.runs.get_by_id("slim/1", "slim", consistent=True)
heavy = sorted(m for m in ("airflow", "pyspark", "typer", "rich", "yaml") if m in sys.modules)
print(json.dumps({"status": view.status.value, "metrics": view.metrics, "heavy": heavy}))
"""


@pytest.mark.integration
def test_slim_spark_driver_install_runs_the_core_and_the_run_logger(
    dist: Path, constraints: Path, tmp_path: Path, dynamodb_endpoint: str, unique_prefix: str
) -> None:
    python = fresh_venv(tmp_path / "driver")
    # README, "Slim Spark driver": the wheel without its dependencies, then the core's two libraries
    run(_uv(), "pip", "install", "--python", python, "--no-deps", wheel(dist), env=clean_env())
    run(_uv(), "pip", "install", "--python", python, "-c", constraints, *DRIVER_REQUIREMENTS, env=clean_env())
    env = clean_env(
        DYNAMODB_ENDPOINT_URL=dynamodb_endpoint,
        DYNAMODB_TABLE_PREFIX=unique_prefix,
        AWS_ACCESS_KEY_ID="local",
        AWS_SECRET_ACCESS_KEY="local",
        AWS_DEFAULT_REGION="us-east-1",
    )
    result = json.loads(run(python, "-c", SLIM_DRIVER, env=env, cwd=tmp_path).strip().splitlines()[-1])
    assert result == {"status": "SUCCESS", "metrics": {"records_read": 10}, "heavy": []}

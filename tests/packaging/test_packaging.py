"""The built distributions, installed with pip the way the README's "Install" section says, in fresh
virtual environments (``python -m venv``), each ending with ``pip check``:

* (a) the core alone: no Airflow, no pyspark, no CLI libraries; the registry and
  ``PipelineRunLogger`` record a run against DynamoDB Local; ``pipeline-registry`` names the
  missing ``cli`` extra, and works once it is installed; with ``[pyspark]`` (a driver's own
  environment) one pyspark, with its ``spark-submit``;
* (b) the provider for a scheduler / api-server (``[airflow]``): no pyspark of any kind; every
  module of the Airflow face imports; Airflow lists the provider;
* (c) the provider with Spark (``[spark]``): one pyspark distribution, and no file of the
  environment owned by two distributions (each installed distribution's RECORD);
* the sdist holds tracked files only, and the wheel ships no test tooling.

One wheel (``uv build``) serves every environment; pip's downloads are cached under
``.tools/pip-cache`` (``PIP_CACHE_DIR``), and the installs are pinned to the versions of
``uv.lock`` (``-c``, as CI tests them).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
from docs.doc_pages import section

pytestmark = pytest.mark.packaging

REPO = Path(__file__).resolve().parents[2]
PIP_CACHE = REPO / ".tools" / "pip-cache"
WHEEL_NAME = "airflow_provider_pipeline_registry-0.1.0-py3-none-any.whl"

#: the README's install commands (section "Install"), verbatim; the tests run them with the built wheel
README_INSTALLS = {
    "core": f"pip install dist/{WHEEL_NAME}",
    "cli": f'pip install "dist/{WHEEL_NAME}[cli]"',
    "airflow": f'pip install "dist/{WHEEL_NAME}[airflow]"',
    "spark": f'pip install "dist/{WHEEL_NAME}[spark]"',
    "pyspark": f'pip install "dist/{WHEEL_NAME}[pyspark]"',
}
HEAVY = ("apache-airflow", "apache-airflow-core", "pyspark", "pyspark-client", "typer", "rich", "pyyaml")
PYSPARK_DISTRIBUTIONS = ("pyspark", "pyspark-client")


def run(
    *args: str | Path, env: dict[str, str] | None = None, cwd: Path | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run a command; fail with its output if it fails (unless ``check`` is False)."""
    completed = subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, timeout=900, env=env, cwd=cwd, check=False
    )
    if check and completed.returncode != 0:
        pytest.fail(
            f"{' '.join(map(str, args))} exited {completed.returncode}\n{completed.stdout}\n{completed.stderr}",
            pytrace=False,
        )
    return completed


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without this test session's virtualenv and Airflow settings, with pip's cache."""
    drop = ("VIRTUAL_ENV", "PYTHONPATH", "AIRFLOW_HOME", "UV_PROJECT_ENVIRONMENT")
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("AIRFLOW__")}
    env["PIP_CACHE_DIR"] = str(PIP_CACHE)
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env.update(extra)
    return env


def _uv() -> str:
    uv = shutil.which("uv")
    if uv is None:  # scripts/setup.sh installs it; without it this test cannot run
        pytest.fail("uv is not on PATH (run scripts/setup.sh)", pytrace=False)
    return uv


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``uv build`` of this checkout: one wheel and one sdist, shared by every environment."""
    out = tmp_path_factory.mktemp("dist")
    run(_uv(), "build", "--out-dir", out, REPO, env=clean_env())
    return out


@pytest.fixture(scope="module")
def constraints(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The locked versions of every extra (uv.lock), so that pip installs what CI tests."""
    path = tmp_path_factory.mktemp("constraints") / "constraints.txt"
    text = run(
        _uv(),
        "export",
        "--frozen",
        "--all-extras",
        "--no-dev",
        "--no-emit-project",
        "--no-hashes",
        "--project",
        REPO,
        env=clean_env(),
    ).stdout
    path.write_text(text, encoding="utf-8")
    return path


def wheel(dist: Path) -> Path:
    [found] = dist.glob("*.whl")
    assert found.name == WHEEL_NAME, "the README's install commands name the wheel: update them"
    return found


class Venv:
    """A fresh ``python -m venv`` environment, installed into with its own pip."""

    def __init__(self, path: Path) -> None:
        run(sys.executable, "-m", "venv", path, env=clean_env())
        self.path = path
        self.bin = path / "bin"
        self.python = self.bin / "python"

    def pip_install(self, constraints: Path, *requirements: str | Path) -> None:
        # --no-compile: no bytecode for Airflow's thousands of files (the test starts few processes)
        run(
            self.python,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-compile",
            "-c",
            constraints,
            *requirements,
            env=clean_env(),
        )

    def pip_check(self) -> None:
        result = run(self.python, "-m", "pip", "check", env=clean_env(), check=False)
        assert result.returncode == 0, f"pip check:\n{result.stdout}{result.stderr}"

    def distributions(self) -> set[str]:
        listed = json.loads(run(self.python, "-m", "pip", "list", "--format", "json", env=clean_env()).stdout)
        return {re.sub(r"[-_.]+", "-", d["name"]).lower() for d in listed}

    def python_json(self, code: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> object:
        out = run(self.python, "-c", code, env=env or clean_env(), cwd=cwd or self.path).stdout
        return json.loads(out.strip().splitlines()[-1])


def test_readme_install_section_has_the_tested_commands() -> None:
    install = section("Install")
    missing = [command for command in README_INSTALLS.values() if command not in install.text]
    assert not missing, f"{install.path.name} {install.heading!r} no longer says: {missing}"


def test_sdist_holds_tracked_files_only(dist: Path) -> None:
    if not (REPO / ".git").exists():
        pytest.fail("not a git checkout: cannot compare the sdist with the tracked files", pytrace=False)
    tracked = set(run("git", "ls-files", cwd=REPO).stdout.splitlines())
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


def test_wheel_ships_runtime_code_and_its_data_only(dist: Path) -> None:
    """The custom run facet's JSON schema (README: Assets and lineage) is package data of the wheel;
    the DynamoDB Local launcher (test and demo tooling, tests/dynamodb_local.py) is not in it."""
    with zipfile.ZipFile(wheel(dist)) as archive:
        names = archive.namelist()
        facet = "airflow_provider_pipeline_registry/lineage/facets/PipelineRegistryRunRunFacet.json"
        schema = json.loads(archive.read(facet))
    assert "PipelineRegistryRunRunFacet" in schema["$defs"]
    assert not [n for n in names if "dynamodb_local" in n or n.startswith("airflow_provider_pipeline_registry/testing")]


CORE_RUN = """
import importlib.util, json, sys
from airflow_provider_pipeline_registry.registry import DynamoDBConfig, PipelineRunLogger, Registry

config = DynamoDBConfig.from_env()
registry = Registry(config)
registry.create_tables()
with PipelineRunLogger(pipeline_id="core", run_id="core/1", settings=config, heartbeat_interval=60) as run:
    run.records_read(10)
view = registry.runs.get_by_id("core/1", "core", consistent=True)
absent = [m for m in ("airflow", "pyspark", "typer", "rich", "yaml") if importlib.util.find_spec(m) is None]
print(json.dumps({"status": view.status.value, "metrics": view.metrics, "absent": absent}))
"""


def _assert_cli_names_the_extra(venv: Venv, missing: str) -> None:
    result = run(venv.bin / "pipeline-registry", "--help", env=clean_env(), check=False)
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert f"(missing: {missing})" in result.stderr
    assert "pip install 'airflow-provider-pipeline-registry[cli]'" in result.stderr


def _assert_cli_works_or_names_the_extra(venv: Venv, installed: set[str]) -> None:
    """The console script works, or names what is missing (Airflow's own dependencies may bring them)."""
    missing = [dist for dist in ("typer", "rich", "pyyaml") if dist not in installed]
    if missing:
        _assert_cli_names_the_extra(venv, ", ".join("PyYAML" if d == "pyyaml" else d for d in missing))
    else:
        assert "runs" in run(venv.bin / "pipeline-registry", "--help", env=clean_env()).stdout


@pytest.mark.integration
def test_a_core_alone_records_a_run_without_airflow_pyspark_or_the_cli(
    dist: Path, constraints: Path, tmp_path: Path, dynamodb_endpoint: str, unique_prefix: str
) -> None:
    venv = Venv(tmp_path / "core")
    venv.pip_install(constraints, wheel(dist))  # README: pip install dist/<wheel>
    venv.pip_check()
    installed = venv.distributions()
    assert {"airflow-provider-pipeline-registry", "boto3", "pydantic"} <= installed
    assert not installed & set(HEAVY), sorted(installed & set(HEAVY))

    env = clean_env(
        DYNAMODB_ENDPOINT_URL=dynamodb_endpoint,
        DYNAMODB_TABLE_PREFIX=unique_prefix,
        AWS_ACCESS_KEY_ID="local",
        AWS_SECRET_ACCESS_KEY="local",
        AWS_DEFAULT_REGION="us-east-1",
    )
    result = venv.python_json(CORE_RUN, env=env, cwd=tmp_path)
    assert result == {
        "status": "SUCCESS",
        "metrics": {"records_read": 10},
        "absent": ["airflow", "pyspark", "typer", "rich", "yaml"],
    }

    # the console script is installed: without the cli extra it says what to install, no traceback
    _assert_cli_names_the_extra(venv, "typer, rich, PyYAML")
    venv.pip_install(constraints, f"{wheel(dist)}[cli]")  # README: pip install "dist/<wheel>[cli]"
    venv.pip_check()
    help_text = run(venv.bin / "pipeline-registry", "--help", env=clean_env()).stdout
    for command in ("tables", "config", "pipelines", "runs"):
        assert command in help_text
    assert "apache-airflow" not in venv.distributions()

    # a driver's own environment: the core and pyspark (README: pip install "dist/<wheel>[pyspark]")
    venv.pip_install(constraints, f"{wheel(dist)}[pyspark]")
    venv.pip_check()
    installed = venv.distributions()
    assert installed & {*PYSPARK_DISTRIBUTIONS, "apache-airflow"} == {"pyspark"}
    owners = venv.python_json(OWNERS)
    assert isinstance(owners, dict)
    assert (owners["n_shared"], owners["pyspark"]) == (0, ["pyspark"]), owners
    assert (venv.bin / "spark-submit").is_file()


#: every module of the package except the CLI's (typer), imported; what pyspark-ish is then loaded
AIRFLOW_FACE_IMPORTS = """
import importlib, importlib.util, json, pkgutil, sys
import airflow_provider_pipeline_registry as package

names = sorted(
    m.name for m in pkgutil.walk_packages(package.__path__, package.__name__ + ".")
    if ".cli." not in m.name + "."
)
for name in names:
    importlib.import_module(name)
print(json.dumps({
    "modules": len(names),
    "pyspark_importable": importlib.util.find_spec("pyspark") is not None,
    "loaded": sorted({m.split(".")[0] for m in sys.modules if m.split(".")[0] in ("pyspark", "py4j")}),
}))
"""


def test_b_provider_for_a_scheduler_has_no_pyspark(dist: Path, constraints: Path, tmp_path: Path) -> None:
    venv = Venv(tmp_path / "scheduler")
    venv.pip_install(constraints, f"{wheel(dist)}[airflow]")  # README: pip install "dist/<wheel>[airflow]"
    venv.pip_check()
    installed = venv.distributions()
    assert {"apache-airflow", "apache-airflow-providers-amazon", "apache-airflow-providers-common-compat"} <= installed
    assert not installed & {*PYSPARK_DISTRIBUTIONS, "apache-airflow-providers-apache-spark"}

    env = clean_env(AIRFLOW_HOME=str(tmp_path / "airflow"), AIRFLOW__CORE__LOAD_EXAMPLES="False")
    result = venv.python_json(AIRFLOW_FACE_IMPORTS, env=env)
    assert isinstance(result, dict)
    assert result["modules"] > 10
    assert result == {"modules": result["modules"], "pyspark_importable": False, "loaded": []}

    providers = json.loads(run(venv.bin / "airflow", "providers", "list", "--output", "json", env=env).stdout)
    ours = [p for p in providers if p["package_name"] == "airflow-provider-pipeline-registry"]
    assert ours, [p["package_name"] for p in providers]
    assert ours[0]["version"] == "0.1.0"
    license_files = list((venv.path / "lib").glob("python*/site-packages/airflow_provider_pipeline_registry-*"))
    assert any("Apache License" in p.read_text() for d in license_files for p in d.rglob("LICENSE*")), license_files

    _assert_cli_works_or_names_the_extra(venv, installed)


#: who owns which file, from each installed distribution's RECORD
OWNERS = """
import importlib.metadata, json
from collections import defaultdict

owners = defaultdict(set)
for dist in importlib.metadata.distributions():
    for f in dist.files or []:
        if ".dist-info/" not in str(f) and not str(f).endswith(".pyc"):
            owners[str(f)].add(dist.metadata["Name"])
shared = {path: sorted(names) for path, names in owners.items() if len(names) > 1}
pyspark_owners = sorted({n for path, names in owners.items() if path.startswith("pyspark/") for n in names})
print(json.dumps({"shared": dict(sorted(shared.items())[:5]), "n_shared": len(shared), "pyspark": pyspark_owners}))
"""


def test_c_provider_with_spark_has_one_pyspark(dist: Path, constraints: Path, tmp_path: Path) -> None:
    venv = Venv(tmp_path / "spark")
    venv.pip_install(constraints, f"{wheel(dist)}[spark]")  # README: pip install "dist/<wheel>[spark]"
    venv.pip_check()
    installed = venv.distributions()
    assert {"apache-airflow", "apache-airflow-providers-apache-spark"} <= installed
    assert len(installed & set(PYSPARK_DISTRIBUTIONS)) == 1, sorted(installed & set(PYSPARK_DISTRIBUTIONS))

    owners = venv.python_json(OWNERS)
    assert isinstance(owners, dict)
    assert owners["n_shared"] == 0, f"files owned by two distributions: {owners['shared']}"
    assert len(owners["pyspark"]) == 1, owners["pyspark"]

    env = clean_env(AIRFLOW_HOME=str(tmp_path / "airflow"), AIRFLOW__CORE__LOAD_EXAMPLES="False")
    loaded = venv.python_json(
        "import json, sys\n"
        "from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator\n"
        "import airflow_provider_pipeline_registry.operators, airflow_provider_pipeline_registry.sensors\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] == 'pyspark')))",
        env=env,
    )
    assert loaded == [], "the Airflow face and SparkSubmitOperator load no pyspark at import"
    _assert_cli_works_or_names_the_extra(venv, installed)

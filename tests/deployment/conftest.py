"""Session fixtures of the real-deployment tier: the four Airflow components, the registry they use.

* ``deployment`` (session): api-server, dag-processor, scheduler (LocalExecutor, SQLite) and
  triggerer as separate processes on a temporary AIRFLOW_HOME, configured by the README's
  deployment block, with ``aws_default`` pointed at DynamoDB Local (a table prefix of its own) and
  the DAGs of ``dags_examples/`` plus ``tests/deployment/dags/``.
* ``deployed_registry`` (session): a :class:`Registry` on the same tables, for the assertions.
"""

from __future__ import annotations

import importlib.util
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from deployment_harness import REPO_ROOT, DeployedRegistry, Deployment, start_deployment

from airflow_provider_pipeline_registry.registry import DynamoDBConfig, Registry

EXAMPLES = REPO_ROOT / "dags_examples"
SCENARIO_DAGS = Path(__file__).resolve().parent / "dags"
SCENARIO_JOB = SCENARIO_DAGS / "jobs" / "scenario_job.py"
#: pipeline id -> the scenario job's mode
SCENARIO_PIPELINES = {
    "deploy_raises": "raise",
    "deploy_wait_task": "wait",
    "deploy_wait_run": "wait",
    "deploy_retry": "fail_first_try",
}
TEST_TIMEOUT = 1800
SPARK_CONF = {"spark.ui.enabled": "false", "spark.sql.shuffle.partitions": "1", "spark.sql.session.timeZone": "UTC"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.deployment)
            # the session fixture's start-up counts towards the first test: above the suite's 600 s
            item.add_marker(pytest.mark.timeout(TEST_TIMEOUT))


#: the running deployment, for the failure reports
_RUNNING: list[Deployment] = []


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """A failed deployment test carries the tails of the components' logs in its report."""
    report = yield
    if report.failed and _RUNNING and "deployment" in item.keywords:
        report.sections.append(("Airflow component logs (tails)", _RUNNING[0].component_logs(lines=40)))
    return report


def _demo_module() -> ModuleType:
    """scripts/demo.py (its seed loader and sample data writer), imported without running it."""
    spec = importlib.util.spec_from_file_location("pipeline_registry_demo", REPO_ROOT / "scripts" / "demo.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _seed(registry: Registry, data_dir: Path, markers_dir: Path) -> None:
    demo = _demo_module()
    demo.write_sample_sales(data_dir / "raw" / "sales")
    for pipeline in demo.load_seed(data_dir):
        tables = pipeline.pop("tables", [])
        for table in tables:
            table.setdefault("pipeline_id", pipeline["pipeline_id"])
        registry.pipelines_write.batch_upsert([pipeline])
        registry.tables_write.batch_upsert(tables)
    registry.pipelines_write.batch_upsert(
        [
            {
                "pipeline_id": pipeline_id,
                "name": f"deployment scenario {mode}",
                "owner": "tests",
                "is_active": True,
                "spark_application": str(SCENARIO_JOB),
                "spark_conf": SPARK_CONF,
                "spark_args": [mode, str(markers_dir)],
            }
            for pipeline_id, mode in SCENARIO_PIPELINES.items()
        ]
    )


@pytest.fixture(scope="session")
def deployed_registry(dynamodb_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> DeployedRegistry:
    prefix = f"dep{uuid.uuid4().hex[:8]}_"
    registry = Registry(DynamoDBConfig(endpoint_url=dynamodb_endpoint, region="us-east-1", table_prefix=prefix))
    registry.create_tables()
    base = tmp_path_factory.mktemp("deployment-data")
    markers = base / "markers"
    markers.mkdir()
    _seed(registry, base / "data", markers)
    return DeployedRegistry(registry, markers, prefix)


@pytest.fixture(scope="session")
def deployment(
    dynamodb_endpoint: str, deployed_registry: DeployedRegistry, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    home = tmp_path_factory.mktemp("deployment")
    dags = home / "dags"
    dags.mkdir()
    (dags / "examples").symlink_to(EXAMPLES, target_is_directory=True)
    (dags / "scenarios").symlink_to(SCENARIO_DAGS, target_is_directory=True)
    # example_generated_dags.py is left out: it would make a DAG of every active pipeline (sales_daily's
    # @daily among them) and run its snapshot DAG; deployment_generated.py selects its own pipelines
    (dags / ".airflowignore").write_text(
        "examples/jobs/\nexamples/seed/\nexamples/example_generated_dags.py\nscenarios/jobs/\n"
    )
    connection = {
        "conn_type": "aws",
        "extra": {
            "endpoint_url": dynamodb_endpoint,
            "region_name": "us-east-1",
            "table_prefix": deployed_registry.prefix,
            "user_timezone": "Europe/Paris",
        },
    }
    extra_env = {
        "AIRFLOW_CONN_AWS_DEFAULT": json.dumps(connection),
        # the snapshot of tests/deployment/dags/deployment_generated.py (written by the tests)
        "PIPELINE_REGISTRY_DAG_SNAPSHOT": str(home / "pipeline_registry_snapshot.json"),
    }
    yield from start_deployment(home, dags_folder=dags, extra_env=extra_env)

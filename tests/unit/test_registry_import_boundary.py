"""The registry core never imports Airflow or pyspark (a Spark driver has boto3 + pydantic only)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import importlib
    import importlib.abc
    import pkgutil
    import sys

    BLOCKED = ("airflow", "pyspark")


    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError(f"{name} is blocked in this test")
            return None


    sys.meta_path.insert(0, Block())
    for name in list(sys.modules):
        if name.split(".")[0] in BLOCKED:
            del sys.modules[name]

    try:
        import airflow  # noqa: F401
    except ImportError:
        pass
    else:
        raise SystemExit("the blocker does not work")

    import airflow_provider_pipeline_registry.registry as registry

    imported = []
    for info in pkgutil.walk_packages(registry.__path__, prefix=registry.__name__ + "."):
        importlib.import_module(info.name)
        imported.append(info.name)
    for name in registry.__all__:
        getattr(registry, name)

    config = registry.DynamoDBConfig(endpoint_url="http://127.0.0.1:1", user_timezone="Europe/Paris")
    reg = registry.Registry(config)
    reg.pipelines, reg.pipelines_write, reg.tables, reg.tables_write, reg.runs, reg.runs_write
    registry.PipelineRunLogsWriteApi(config).to_item(
        {"run_id": "r", "pipeline_id": "p", "status": "RUNNING"}
    )
    leaked = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
    assert not leaked, leaked
    print(len(imported))
    """
)


def test_registry_imports_without_airflow_or_pyspark() -> None:
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.strip()) >= 20  # every module of the core was walked
